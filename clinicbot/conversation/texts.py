"""Every text the bot sends a patient, in English and in Hindi, looked up by key; and dates,
times and money written as a patient in India reads them ("Tue 25 Nov, 10:30 am", "₹1,500").

Keys name what a text is for. ``btn.*`` keys are choice titles and fit a reply button (20
characters), ``list.*`` keys a list's button label (20), ``desc.*`` keys a list row's
description (72); other keys are message bodies. A test renders every entry in both
languages and checks those limits.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time

from clinicbot.conversation.model import Choice, Language, Reply

EN: dict[str, str] = {
    "greeting": "Hello{name}! Welcome to {clinic}. How can we help you today?",
    "menu_again": "What would you like to do?",
    "didnt_get": "Sorry, I didn't get that. Here is what I can do:",
    "stale": "Sorry for the delay, this message reached us late. What would you like to do?",
    "media": (
        "Thanks! I can only read text and buttons, but our staff will see your file. "
        "Here is what I can do:"
    ),
    "ask_service": "Which service do you need?",
    "ask_service_doctor": "Which service do you need with {doctor}?",
    "ask_doctor": "Which doctor would you like to see for {service}?",
    "slots": "Free times for {service}. Please pick one:",
    "slots_doctor": "Free times for {service} with {doctor}. Please pick one:",
    "slots_none_then": "Nothing is free {when}. The nearest free times:",
    "slots_not_free": "{when} is not free. The nearest free times:",
    "slot_taken": "Sorry, {when} was just taken. The nearest free times:",
    "when_day": "on {day}",
    "when_day_part": "on {day} ({part})",
    "part.morning": "morning",
    "part.afternoon": "afternoon",
    "part.evening": "evening",
    "slots_none": (
        "Sorry, there are no free times for {service} in the next {days} days. "
        "Please call us at {phone}, or talk to our staff."
    ),
    "confirm": "Please confirm your appointment:\n{service} with {doctor}\n{when}\nFee: {price}",
    "booked": (
        "✅ Booked! {service} with {doctor} on {when}.\n{clinic}, {address}\n"
        'Please come 10 minutes early. To change or cancel, send "menu".'
    ),
    "not_booked": "Okay, nothing is booked.",
    "mine_none": "You have no upcoming appointments.",
    "mine_list": "Your upcoming appointments:\n{lines}",
    "mine_line": "• {when}: {doctor} ({service})",
    "pick_cancel": "Which appointment do you want to cancel?",
    "pick_move": "Which appointment do you want to reschedule?",
    "cancel_sure": "Cancel your appointment on {when} with {doctor}?",
    "cancelled": "Your appointment on {when} with {doctor} is cancelled.",
    "kept": "Okay, your appointment on {when} stays as it is.",
    "appt_gone": "That appointment is no longer booked.",
    "move_intro": "Your appointment: {when} with {doctor}. Pick a new time:",
    "move_confirm": "Move your appointment with {doctor}\nfrom {old}\nto {new}?",
    "moved": "✅ Done. Your appointment with {doctor} is now on {when}.",
    "cant_move": "This appointment can't be changed here. Our staff will help you: {phone}.",
    "attendance": "Thank you! We'll see you on {when} with {doctor}.",
    "info_menu": "What would you like to know about {clinic}?",
    "hours_intro": "Our doctors' hours:",
    "hours_doctor": "{doctor} ({specialty})\n{days}",
    "hours_on_day": "Hours on {day}:",
    "hours_doctor_day": "{doctor}: {spans}",
    "hours_off": "not available",
    "holiday_on": "The clinic is closed on {day}.",
    "address": "{clinic}\n{address}\nPhone: {phone}",
    "fees_intro": "Our fees:",
    "fee_line": "{service} ({minutes} min): {price}",
    "doctors_intro": "Our doctors:",
    "doctor_line": "{doctor}: {specialty}",
    "handover": "Okay, a member of our staff will reply to you here soon.",
    "language_ask": "Which language do you prefer?",
    "language_set": "Okay, I'll reply in English.",
    "stopped": "Okay, you won't get any more reminders. Send START to turn them back on.",
    "started": "Done, reminders are on again.",
    "emergency": (
        "⚠️ If this is an emergency, call {number} now or go to the nearest hospital. "
        "You can also call the clinic at {phone}. We can't handle emergencies on WhatsApp."
    ),
    "medical": (
        "Sorry, we can't give medical advice on WhatsApp. Please book a visit, "
        "or call us at {phone}."
    ),
    "thanks": "You're welcome! 😊",
    "bye": 'Alright. Send "Hi" whenever you need us.',
    "pick_range": "Please choose a number from 1 to {count}.",
    "no_services": "Sorry, nothing can be booked on WhatsApp right now. Please call us at {phone}.",
    "reminder": (
        "Reminder: your appointment with {doctor} at {clinic} is on {when}. Will you come?"
    ),
    "btn.book": "Book appointment",
    "btn.mine": "My appointments",
    "btn.reschedule": "Reschedule",
    "btn.cancel": "Cancel appointment",
    "btn.info": "Clinic info",
    "btn.staff": "Talk to staff",
    "btn.language": "Language / भाषा",
    "btn.menu": "Menu",
    "btn.confirm": "Confirm",
    "btn.change": "Change time",
    "btn.yes_cancel": "Yes, cancel",
    "btn.cancel_short": "Cancel",
    "btn.keep": "Keep it",
    "btn.more": "More slots",
    "btn.any_doctor": "Any doctor, earliest",
    "btn.hours": "Timings",
    "btn.address": "Address",
    "btn.fees": "Fees",
    "btn.doctors": "Doctors",
    "btn.book_new": "Book another",
    "list.menu": "Menu",
    "list.services": "Services",
    "list.doctors": "Doctors",
    "list.times": "Free times",
    "list.appointments": "Appointments",
    "desc.any_doctor": "The first free time, with whichever doctor is free",
    "desc.service": "{minutes} min, {price}",
    "desc.appointment": "{doctor}, {service}",
    "desc.more": "Later free times",
}

HI: dict[str, str] = {
    "greeting": "नमस्ते{name}! {clinic} में आपका स्वागत है। हम आपकी क्या मदद कर सकते हैं?",
    "menu_again": "आप क्या करना चाहेंगे?",
    "didnt_get": "माफ़ कीजिए, मैं समझ नहीं पाया। मैं ये कर सकता हूँ:",
    "stale": "देरी के लिए माफ़ कीजिए, यह संदेश हमें देर से मिला। आप क्या करना चाहेंगे?",
    "media": (
        "धन्यवाद! मैं सिर्फ़ लिखा हुआ संदेश और बटन पढ़ सकता हूँ, पर हमारा स्टाफ आपकी फ़ाइल देखेगा। मैं ये कर सकता हूँ:"
    ),
    "ask_service": "आपको कौन-सी सेवा चाहिए?",
    "ask_service_doctor": "{doctor} के साथ आपको कौन-सी सेवा चाहिए?",
    "ask_doctor": "{service} के लिए आप किस डॉक्टर से मिलना चाहेंगे?",
    "slots": "{service} के लिए खाली समय। कृपया एक चुनें:",
    "slots_doctor": "{doctor} के साथ {service} के लिए खाली समय। कृपया एक चुनें:",
    "slots_none_then": "{when} कोई समय खाली नहीं है। सबसे पास के खाली समय:",
    "slots_not_free": "{when} खाली नहीं है। सबसे पास के खाली समय:",
    "slot_taken": "माफ़ कीजिए, {when} अभी-अभी बुक हो गया। सबसे पास के खाली समय:",
    "when_day": "{day} को",
    "when_day_part": "{day} {part} को",
    "part.morning": "सुबह",
    "part.afternoon": "दोपहर",
    "part.evening": "शाम",
    "slots_none": (
        "माफ़ कीजिए, अगले {days} दिनों में {service} के लिए कोई समय खाली नहीं है। "
        "कृपया हमें {phone} पर फ़ोन करें, या स्टाफ से बात करें।"
    ),
    "confirm": "कृपया अपने अपॉइंटमेंट की पुष्टि करें:\n{doctor} के साथ {service}\n{when}\nफीस: {price}",
    "booked": (
        "✅ बुक हो गया! {doctor} के साथ {service}, {when}।\n{clinic}, {address}\n"
        'कृपया 10 मिनट पहले आएँ। बदलने या रद्द करने के लिए "menu" भेजें।'
    ),
    "not_booked": "ठीक है, कुछ भी बुक नहीं हुआ।",
    "mine_none": "आपका कोई आने वाला अपॉइंटमेंट नहीं है।",
    "mine_list": "आपके आने वाले अपॉइंटमेंट:\n{lines}",
    "mine_line": "• {when}: {doctor} ({service})",
    "pick_cancel": "आप कौन-सा अपॉइंटमेंट रद्द करना चाहते हैं?",
    "pick_move": "आप कौन-सा अपॉइंटमेंट बदलना चाहते हैं?",
    "cancel_sure": "{when} को {doctor} के साथ आपका अपॉइंटमेंट रद्द करें?",
    "cancelled": "{when} को {doctor} के साथ आपका अपॉइंटमेंट रद्द हो गया है।",
    "kept": "ठीक है, {when} का आपका अपॉइंटमेंट वैसा ही रहेगा।",
    "appt_gone": "वह अपॉइंटमेंट अब बुक नहीं है।",
    "move_intro": "आपका अपॉइंटमेंट: {when}, {doctor} के साथ। नया समय चुनें:",
    "move_confirm": "{doctor} के साथ अपना अपॉइंटमेंट\n{old} से\n{new} पर करें?",
    "moved": "✅ हो गया। {doctor} के साथ आपका अपॉइंटमेंट अब {when} को है।",
    "cant_move": "यह अपॉइंटमेंट यहाँ नहीं बदला जा सकता। हमारा स्टाफ मदद करेगा: {phone}।",
    "attendance": "धन्यवाद! {when} को {doctor} के साथ आपसे मिलेंगे।",
    "info_menu": "{clinic} के बारे में आप क्या जानना चाहेंगे?",
    "hours_intro": "हमारे डॉक्टरों का समय:",
    "hours_doctor": "{doctor} ({specialty})\n{days}",
    "hours_on_day": "{day} का समय:",
    "hours_doctor_day": "{doctor}: {spans}",
    "hours_off": "उपलब्ध नहीं",
    "holiday_on": "{day} को क्लिनिक बंद है।",
    "address": "{clinic}\n{address}\nफ़ोन: {phone}",
    "fees_intro": "हमारी फीस:",
    "fee_line": "{service} ({minutes} मिनट): {price}",
    "doctors_intro": "हमारे डॉक्टर:",
    "doctor_line": "{doctor}: {specialty}",
    "handover": "ठीक है, हमारे स्टाफ का कोई सदस्य जल्द ही यहाँ आपको जवाब देगा।",
    "language_ask": "आप कौन-सी भाषा पसंद करेंगे?",
    "language_set": "ठीक है, अब मैं हिंदी में जवाब दूँगा।",
    "stopped": "ठीक है, अब आपको रिमाइंडर नहीं भेजे जाएँगे। दोबारा चालू करने के लिए START भेजें।",
    "started": "हो गया, रिमाइंडर फिर से चालू हैं।",
    "emergency": (
        "⚠️ अगर यह इमरजेंसी है, तो अभी {number} पर फ़ोन करें या नज़दीकी अस्पताल जाएँ। "
        "आप क्लिनिक को {phone} पर भी फ़ोन कर सकते हैं। WhatsApp पर हम इमरजेंसी नहीं संभाल सकते।"
    ),
    "medical": (
        "माफ़ कीजिए, हम WhatsApp पर डॉक्टरी सलाह नहीं दे सकते। कृपया अपॉइंटमेंट बुक करें, "
        "या हमें {phone} पर फ़ोन करें।"
    ),
    "thanks": "आपका स्वागत है! 😊",
    "bye": 'ठीक है। जब भी ज़रूरत हो, "Hi" भेजें।',
    "pick_range": "कृपया 1 से {count} तक का कोई नंबर चुनें।",
    "no_services": "माफ़ कीजिए, अभी WhatsApp पर बुकिंग नहीं हो सकती। कृपया {phone} पर फ़ोन करें।",
    "reminder": "याद दिला दें: {clinic} में {doctor} के साथ आपका अपॉइंटमेंट {when} को है। क्या आप आएँगे?",
    "btn.book": "अपॉइंटमेंट बुक करें",
    "btn.mine": "मेरे अपॉइंटमेंट",
    "btn.reschedule": "अपॉइंटमेंट बदलें",
    "btn.cancel": "अपॉइंटमेंट रद्द करें",
    "btn.info": "क्लिनिक की जानकारी",
    "btn.staff": "स्टाफ से बात करें",
    "btn.language": "भाषा / Language",
    "btn.menu": "मेनू",
    "btn.confirm": "पुष्टि करें",
    "btn.change": "समय बदलें",
    "btn.yes_cancel": "हाँ, रद्द करें",
    "btn.cancel_short": "रद्द करें",
    "btn.keep": "रहने दें",
    "btn.more": "और समय",
    "btn.any_doctor": "कोई भी डॉक्टर",
    "btn.hours": "समय",
    "btn.address": "पता",
    "btn.fees": "फीस",
    "btn.doctors": "डॉक्टर",
    "btn.book_new": "नया अपॉइंटमेंट",
    "list.menu": "मेनू",
    "list.services": "सेवाएँ",
    "list.doctors": "डॉक्टर",
    "list.times": "खाली समय",
    "list.appointments": "अपॉइंटमेंट",
    "desc.any_doctor": "सबसे पहला खाली समय, जो भी डॉक्टर खाली हों",
    "desc.service": "{minutes} मिनट, {price}",
    "desc.appointment": "{doctor}, {service}",
    "desc.more": "बाद के खाली समय",
}

CATALOGUES: dict[Language, dict[str, str]] = {Language.EN: EN, Language.HI: HI}
LANGUAGE_TITLES: dict[Language, str] = {Language.EN: "English", Language.HI: "हिंदी"}

WEEKDAYS: dict[Language, tuple[str, ...]] = {
    Language.EN: ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    Language.HI: ("सोम", "मंगल", "बुध", "गुरु", "शुक्र", "शनि", "रवि"),
}
MONTHS: dict[Language, tuple[str, ...]] = {
    Language.EN: (
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "May",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Oct",
        "Nov",
        "Dec",
    ),
    # Short forms, so that "शुक्र 11 अक्तू, 10:30 am" fits a list row (24 characters).
    Language.HI: ("जन", "फर", "मार्च", "अप्रै", "मई", "जून", "जुला", "अग", "सित", "अक्तू", "नव", "दिस"),
}
# The emergency number to call, by the clinic's country (112 reaches help in India and the EU).
EMERGENCY_NUMBERS = {"IN": "112", "US": "911", "CA": "911", "GB": "999", "AU": "000"}


def say(lang: Language, key: str, **values: object) -> str:
    """The text for ``key`` in ``lang`` (English where Hindi lacks it), filled in."""
    template = CATALOGUES[lang].get(key) or EN[key]
    return template.format(**values)


def day_label(day: date, lang: Language) -> str:
    """The day as "Tue 25 Nov"."""
    return f"{WEEKDAYS[lang][day.weekday()]} {day.day} {MONTHS[lang][day.month - 1]}"


def clock_label(clock: time) -> str:
    """The time as "10:30 am", "5:00 pm": the 12-hour clock, as times are said in India."""
    hour = clock.hour % 12 or 12
    suffix = "am" if clock.hour < 12 else "pm"
    return f"{hour}:{clock.minute:02d} {suffix}"


def slot_label(moment: datetime, lang: Language) -> str:
    """The time as "Tue 25 Nov, 10:30 am"; ``moment`` is in the clinic's time zone already."""
    return f"{day_label(moment.date(), lang)}, {clock_label(moment.time())}"


def money(amount: float) -> str:
    """Rupees grouped the Indian way: ₹500, ₹1,500, ₹1,50,000, ₹499.50."""
    if not math.isfinite(amount) or amount < 0:
        amount = 0
    whole, paise = divmod(round(amount * 100), 100)
    digits = str(whole)
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    grouped = ",".join([g for g in [head, *groups] if g] + [tail])
    return f"₹{grouped}" + (f".{paise:02d}" if paise else "")


def when(lang: Language, moment: datetime) -> str:
    """``moment`` (in the clinic's zone) as a patient reads it: "Tue 25 Nov, 10:30 am"."""
    return slot_label(moment, lang)


def reminder(
    lang: Language, clinic: str, doctor: str, start: datetime, appointment_id: str
) -> Reply:
    """The reminder before a visit, with Confirm / Cancel / Reschedule (the engine acts on
    their ids, ``confirm:<id>`` and so on, whenever they are tapped)."""
    text = say(lang, "reminder", clinic=clinic, doctor=doctor, when=when(lang, start))
    choices = (
        Choice(f"confirm:{appointment_id}", say(lang, "btn.confirm")),
        Choice(f"cancel:{appointment_id}", say(lang, "btn.cancel_short")),
        Choice(f"reschedule:{appointment_id}", say(lang, "btn.reschedule")),
    )
    return Reply(text, choices)
