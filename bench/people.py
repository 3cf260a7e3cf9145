"""The clinic's patients as the generator invents them: Indian names and mobile numbers."""

from __future__ import annotations

import random
from dataclasses import dataclass


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Aarav Aditi Aditya Akash Amit Amita Ananya Anil Anita Anjali Ankit Anupama Arjun Arun "
    "Asha Ashok Ayesha Bhavna Chetan Deepa Deepak Devendra Dinesh Divya Farhan Fatima Gaurav "
    "Geeta Gopal Harish Harpreet Imran Ishaan Jaya Jyoti Kabir Kamala Karan Kavita Kiran "
    "Krishna Lakshmi Lalit Madhu Mahesh Manish Manoj Meena Mohan Mohit Nandini Naveen Neha "
    "Nikhil Nisha Pallavi Pankaj Pooja Prakash Pramod Prateek Priya Rahul Rajesh Rakesh Ramesh "
    "Rani Ravi Rekha Ritu Rohan Rohit Sachin Sadia Sahil Sameer Sandeep Sangeeta Sanjay Sarita "
    "Seema Shabana Shalini Shanti Shivani Shreya Siddharth Sneha Sonia Sudha Sunil Sunita Suresh "
    "Swati Tanvi Tarun Uma Usha Varun Vijay Vikas Vinod Vivek Yash Zoya Abdul Gurpreet Joseph "
    "Mary Thomas Anthony Rukmini Venkatesh Srinivas Lakshman Parvati Tulsi Balwinder"
)

LAST_NAMES = _words(
    "Agarwal Ahmed Bhat Banerjee Bose Chatterjee Chauhan Chopra Das Desai Deshmukh Dubey Gill "
    "Gupta Iyer Jain Joshi Kapoor Khan Kulkarni Kumar Malhotra Mehta Menon Mishra Mukherjee "
    "Nair Naidu Pandey Patel Patil Pillai Qureshi Rao Reddy Saxena Shah Sharma Shetty Singh "
    "Sinha Srivastava Thakur Tiwari Trivedi Varghese Verma Yadav Ansari Shaikh Sethi Bajaj "
    "Rathore Chaudhary Kamath Hegde Naik Pawar Jadhav Gaikwad Shinde More Kale Sawant Bhosale "
    "Dsouza Fernandes Rodrigues Mathew Kurian Gowda Hussain Siddiqui Mirza Lal Prasad Goyal "
    "Mittal Bansal Arora Bhatia Ahuja Grover Dutta Ghosh Sen Roy Paul Biswas Mondal Sahu "
    "Behera Mohanty Panda Nayak"
)

# Indian mobile numbers are ten digits starting 6, 7, 8 or 9.
MOBILE_LOW, MOBILE_HIGH = 6_000_000_000, 10_000_000_000


@dataclass(frozen=True)
class Person:
    name: str
    phone: str  # E.164, as the app stores it
    whatsapp_name: str | None


def mobile_numbers(rng: random.Random, count: int) -> list[int]:
    """``count`` distinct ten-digit Indian mobile numbers."""
    return rng.sample(range(MOBILE_LOW, MOBILE_HIGH), count)


def fresh_numbers(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """``count`` ten-digit numbers (national form) that no patient in ``taken`` (E.164) has."""
    found: dict[str, None] = {}
    while len(found) < count:
        number = str(rng.randrange(MOBILE_LOW, MOBILE_HIGH))
        if "+91" + number not in taken:
            found[number] = None
    return list(found)


def _whatsapp_name(rng: random.Random, first: str, last: str) -> str | None:
    roll = rng.random()
    if roll < 0.45:
        return None
    if roll < 0.75:
        return first
    if roll < 0.9:
        return f"{first} {last[0]}"
    return f"{first} {last}"


def invent_people(rng: random.Random, count: int) -> list[Person]:
    """``count`` patients: names repeat (as they do in India), phones never do."""
    people = []
    for number in mobile_numbers(rng, count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        people.append(Person(f"{first} {last}", f"+91{number}", _whatsapp_name(rng, first, last)))
    return people
