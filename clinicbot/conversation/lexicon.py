"""The words the bot knows, and how a patient's text becomes canonical English tokens.

Hindi in Devanagari goes through ``anyascii`` word by word and a table of Hindi words maps
the result to the Hinglish spelling patients type; Hinglish, chat shorthand and common typos
then map to English. So one set of English patterns (in ``understand`` and ``when``) reads
"कल शाम 5 बजे", "kal sham 5 baje" and "tmrw evening 5 oclock" alike. Tables are compiled
once, at import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from anyascii import anyascii
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

# Hindi words in Devanagari -> how patients spell them in Latin letters.
_DEVANAGARI = """
kal: कल | aaj: आज | parso: परसों परसो | subah: सुबह सुबे | shaam: शाम | dopahar: दोपहर
raat: रात | baje: बजे बज बजकर | somvar: सोमवार | mangalvar: मंगलवार | budhvar: बुधवार
guruvar: गुरुवार बृहस्पतिवार | shukravar: शुक्रवार | shanivar: शनिवार | ravivar: रविवार इतवार
agle: अगले अगला अगली | hafte: हफ्ते हफ़्ते सप्ताह हफ्ता | tarikh: तारीख तारीख़
ek: एक | do: दो | teen: तीन | char: चार | paanch: पांच पाँच | chhe: छह छः छे | saat: सात
aath: आठ | nau: नौ | das: दस | gyarah: ग्यारह | barah: बारह | saade: साढ़े साढे
sava: सवा | paune: पौने | dedh: डेढ़ डेढ | dhai: ढाई | pehla: पहला पहली पहले
dusra: दूसरा दूसरी दूसरे दुसरा | teesra: तीसरा तीसरी तीसरे | chautha: चौथा चौथी
haan: हाँ हां हा | ji: जी | nahi: नहीं नही | na: ना
appointment: अपॉइंटमेंट अपोइंटमेंट अपाइंटमेंट एपॉइंटमेंट अपॉइन्टमेंट
booking: बुकिंग | book: बुक | cancel: कैंसिल कैंसल केंसिल कैन्सल | radd: रद्द रद
badal: बदलना बदल बदलो बदलें बदलनी बदलिए | doctor: डॉक्टर डॉ डाक्टर डॉक्टरों डॉक्टर्स
fees: फीस फ़ीस | kitna: कितना कितनी कितने | paise: पैसे पैसा | pata: पता | kahan: कहाँ कहां कहा
samay: समय | time: टाइम | khulta: खुलता खुलती खुला खुली खुलेगा | band: बंद | hindi: हिंदी हिन्दी
english: इंग्लिश अंग्रेज़ी अंग्रेजी | namaste: नमस्ते नमस्कार प्रणाम | dhanyavad: धन्यवाद शुक्रिया
madad: मदद | emergency: इमरजेंसी आपातकाल | seene: सीने सीना छाती | dard: दर्द | khoon: खून ख़ून
beh: बह बहना | behosh: बेहोश | saans: सांस साँस | dawai: दवा दवाई | bukhar: बुखार
khansi: खांसी खाँसी | daant: दांत दाँत | safai: सफाई सफ़ाई | bacche: बच्चे बच्चा बच्चों बच्ची
jaanch: जांच जाँच | milna: मिलना मिलने मिलेंगे | dikhana: दिखाना दिखाने दिखाओ | karna: करना
karni: करनी | hai: है हैं | mera: मेरा मेरी मेरे | mujhe: मुझे | se: से | ka: का की के | ko: को
me: में | reminder: रिमाइंडर रिमाइंडर्स | message: मैसेज | bhejo: भेजो भेजें भेजना | mat: मत
aur: और | kab: कब | kya: क्या | karo: कर करो करें कीजिए करिए | chahiye: चाहिए | baat: बात
insaan: इंसान इन्सान | kisi: किसी | staff: स्टाफ | reception: रिसेप्शन | clinic: क्लिनिक क्लीनिक
aa: आ | paunga: पाऊंगा पाउंगा पाऊँगा पाऊंगी | sakta: सकता सकती सकते | wala: वाला वाली वाले
aage: आगे | din: दिन | theek: ठीक | shuru: शुरू | chalu: चालू | kaun: कौन | khali: खाली | slot: स्लॉट
batao: बताओ बताइए बताएं | checkup: चेकअप | report: रिपोर्ट | accident: एक्सीडेंट | heart: हार्ट
attack: अटैक | ho: हो | raha: रहा रही रहे | gaya: गया गई गए | ruk: रुक | khana: खाना | liye: लिए
mummy: मम्मी | papa: पापा | abhi: अभी | jaldi: जल्दी | bhasha: भाषा | rakho: रखो रखें
"""

# Canonical English <- the spellings patients use (Hinglish, shorthand, frequent typos).
_WORDS = """
tomorrow: kal kall tmrw tmr tmrow tmw tomm 2moro 2mrw 2morrow 2morow tomo tommorrow
today: aaj aj aajj tday 2day
day after tomorrow: parso parson parsoon parsun parsho parsoo
morning: subah subha suba subeh subhe savere sawere savera
afternoon: dopahar dopehar dupahar dophar dopahr dopaher dopher duphar
evening: shaam sham saam shyam evng eve
night: raat
oclock: baje bje baj bajey bajay bajeh bajke bajkar
monday: somvar somwar somvaar
tuesday: mangalvar mangalwar mangal
wednesday: budhvar budhwar budh
thursday: guruvar guruwar brihaspativar veervar virvar
friday: shukravar shukrawar shukra
saturday: shanivar shaniwar shani
sunday: ravivar raviwar itvaar itwar itvar etvar etwar
next: agle agla agli aglay
week: hafte hafta haftay saptah
date: tarikh tareekh tarik tareek
appointment: appt apt appoint appointmnt apointment
please: pls plz plss plzz plz kripya kripaya
you: u
your: ur
are: r
want: chahiye chaiye chahie chahye chaahiye
meet: milna milne milenge milega milunga milungi mil
show: dikhana dikhane dikhani dikhao dikha dikhaana dikhwana dikhaiye dikhayein dikhaye
when: kab
where: kahan kaha kahaan kidhar kahn
how much: kitna kitne kitni
what: kya
who: kaun kon koun
talk: baat baate
person: insaan insan aadmi vyakti
send: bhejo bhejna bheje bhejiye bhej
dont: mat
open: khulta khulti khula khuli khulega
sits: baithte baithti baithta baithenge baithegi milte
difficulty: dikkat dikkt takleef taklif pareshani
day: din
karo: kro kijiye kariye
kar do: krdo kardo
karna: krna
karni: krni
hai: h hy
medicine: dawai dawa dava davai dawaai
fever: bukhar bukhaar
cough: khansi khaansi
teeth: daant dant daat daanth
cleaning: safai saaf safaai
child: bacche bachche baccha bachcha bacha bachon bacchon bachhe bachho bachi bacchi
checkup: jaanch janch jach
yes: haan han haa ha hanji haanji hnji haji hn yess yeah yep yup ya yea thumbsup
no: nahi nahin nai nhi nahii nope nah na rehne
ok: okay okk okey k kk theek thik chalega
sure: bilkul pakka
thanks: dhanyavad dhanyawad shukriya shukria thx thanx tq ty pray
cancel: radd
change: badal badalna badalni badlo badle badalne badaliye
chest: seene seena chhati chati
pain: dard
blood: khoon khun
flowing: beh bah
unconscious: behosh
breath: saans sans
poison: zeher zahar
snake: saanp
doctor: dr doc daktar doctr doktor docter dactor
come: aa aana aaunga aaungi aaoonga aunga aungi
can: sakta sakti sakte paunga paungi payenge
first: pehla pahla pehli pahli pehle
second: dusra doosra dusri doosri dusre
third: teesra tisra teesri tisri
fourth: chautha chauthi chotha
information: jankari jaankari info
english: angrezi angreji angrezee
comes: aate aati aayenge aayegi
help: madad
hello: hlo helo hii hiii hey heyy hellow
namaste: namaskar pranam namastey
free: khali
emergency: emergancy emergeny
language: bhasha
now: abhi
"""


def words(text: str) -> tuple[str, ...]:
    """The words of ``text``, for tables written as running text."""
    return tuple(text.split())


# Number words, wherever a number may stand (a time, or a pick from a list).
NUMBER_WORDS: dict[str, int] = {
    **dict.fromkeys(("ek", "one"), 1),
    **dict.fromkeys(("do", "two"), 2),
    **dict.fromkeys(("teen", "tin", "three"), 3),
    **dict.fromkeys(("char", "chaar", "four"), 4),
    **dict.fromkeys(("paanch", "panch", "pach", "five"), 5),
    **dict.fromkeys(("chhe", "chhah", "che", "six"), 6),
    **dict.fromkeys(("saat", "seven"), 7),
    **dict.fromkeys(("aath", "eight"), 8),
    **dict.fromkeys(("nau", "nine"), 9),
    **dict.fromkeys(("das", "dus", "ten"), 10),
    **dict.fromkeys(("gyarah", "gyara", "gyaarah", "eleven"), 11),
    **dict.fromkeys(("barah", "bara", "baarah", "twelve"), 12),
}
ORDINALS: dict[str, int] = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "last": 10,
}

# Words a typo may be corrected to (long enough that a one-letter slip is still clear).
CORRECTABLE = words(
    """appointment appointments cancel reschedule schedule tomorrow morning evening afternoon
    monday tuesday wednesday thursday friday saturday sunday address location timing timings
    emergency unconscious bleeding breathing reminder reminders cleaning dental consultation
    checkup doctor available booking english hindi charges please medicine paracetamol
    unsubscribe receptionist followup information specialist dentist pediatrician postpone
    prepone consult children"""
)

# English words near a correctable one that mean something else: never "corrected".
COMMON = frozenset(
    words(
        """a about after again all also am an and any anyone anything are as at available back be
    because been before being best book booked bring but by call came can cancer cant change
    changes chance clinic close come coming could day days did do does doing done dont down
    each early earlier even ever every for from get give go going good got had has have having
    he hello help her here hey hi him his how i if im in into is it its just know later let
    like looking make many may me mental more most much my need needed new next no not now of
    off ok on one only or other our out over people please remainder right same see she should
    so some someone son soon still such sure take tell than thank thanks that the their them
    then there these they thing think this those time times to too two up us very wait want
    was way we well were what when where which while who why will with without would yes you
    your hindu money parking password wifi address doctors dentists evenings mornings"""
    )
)


def _compile_devanagari() -> tuple[dict[str, str], dict[str, str]]:
    """Hindi words as written, and as ``anyascii`` spells them (a fallback for spellings not
    listed); a Latin spelling two listed words share ("डॉ", "दो" -> "do") is left out of it."""
    exact: dict[str, str] = {}
    latin: dict[str, str] = {}
    clashes: set[str] = set()
    for entry in _DEVANAGARI.replace("\n", "|").split("|"):
        if ":" in entry:
            meaning, words = entry.split(":")
            for word in words.split():
                exact[word] = meaning.strip()
                key = anyascii(word).lower()
                if latin.get(key, meaning.strip()) != meaning.strip():
                    clashes.add(key)
                latin[key] = meaning.strip()
    return exact, {k: v for k, v in latin.items() if k not in clashes}


def _compile_words() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in _WORDS.strip().splitlines():
        english, variants = line.split(":")
        for variant in variants.split():
            table[variant] = english.strip()
    return table


DEVANAGARI_WORDS, DEVANAGARI_SPELLINGS = _compile_devanagari()
WORDS = _compile_words()
KNOWN = frozenset([*WORDS, *WORDS.values(), *NUMBER_WORDS, *ORDINALS, *CORRECTABLE, *COMMON])

_DEVANAGARI_RUN = re.compile(r"[\u0900-\u0963\u0971-\u097F]+")
_TOKEN = re.compile(r"\d+(?:[:./-]\d+)*|[a-z]+")
_PHRASES = tuple(
    (re.compile(pattern), repl)
    for pattern, repl in (
        (r"\b(\d{1,2}) (st|nd|rd|th)\b", r"\1\2"),
        (r"\bfollow up\b", "followup"),
        (r"\bcheck up\b", "checkup"),
        (r"\b([ap]) m\b", r"\1m"),
        (r"\bo clock\b", "oclock"),
        (r"\bhow much oclock\b", "what time"),
        (r"\bhow much (?=time\b)", "what "),
        (r"\bsee you(?: \w+)?$", "bye"),
        (r"\bno want\b", "dont want"),
        (r"\baage (?:badha\w*|kar\w*|shift\w*)\b", "postpone"),
        (r"\bpeeche (?:kar\w*|shift\w*)\b", "prepone"),
    )
)


@dataclass(frozen=True)
class Normalised:
    """A message's words in Latin letters, before any mapping (``canonical`` maps them)."""

    raw: tuple[str, ...]  # the tokens before mapping (Devanagari already in Latin letters)
    from_devanagari: frozenset[str]  # raw tokens that came from Devanagari unmapped
    devanagari_share: float  # Devanagari letters / all letters


def _devanagari_pass(text: str) -> tuple[str, set[str], float]:
    unmapped: set[str] = set()
    devanagari = sum(len(m.group()) for m in _DEVANAGARI_RUN.finditer(text))
    latin = sum("a" <= ch <= "z" for ch in text)

    def replace(match: re.Match[str]) -> str:
        word = match.group()
        latin = anyascii(word).lower()
        meaning = DEVANAGARI_WORDS.get(word) or DEVANAGARI_SPELLINGS.get(latin)
        if meaning is None:
            unmapped.add(latin)
            return f" {latin} "
        return f" {meaning} "

    return _DEVANAGARI_RUN.sub(replace, text), unmapped, devanagari / ((devanagari + latin) or 1)


def correct(token: str) -> str:
    """``token`` with a one-letter slip (two in a long word) fixed, if it is near a known word."""
    if len(token) < 5 or token in KNOWN or not token.isalpha():
        return token
    found = process.extractOne(
        token,
        CORRECTABLE,
        scorer=DamerauLevenshtein.distance,
        score_cutoff=2 if len(token) >= 8 else 1,
    )
    if found is None or found[0][0] != token[0]:
        return token
    return str(found[0])


def raw_tokens(text: str) -> Normalised:
    """Tokens of ``text`` in Latin letters, before any mapping (names are matched on these)."""
    text = text.casefold().replace("’", "'").replace("`", "'")
    text, unmapped, share = _devanagari_pass(text)
    text = anyascii(text).lower()
    text = re.sub(r"'s\b", "", text).replace("'", "")
    text = text.replace("a.m.", "am").replace("p.m.", "pm")
    raw = tuple(_TOKEN.findall(text))
    return Normalised(raw, frozenset(unmapped), share)


def canonical(raw: tuple[str, ...], keep: frozenset[str] = frozenset()) -> str:
    """English tokens for ``raw``; tokens in ``keep`` (names) are left as they are."""
    words = []
    for token in raw:
        if token not in keep:
            token = WORDS.get(token, token)
            if token not in KNOWN:
                token = WORDS.get(correct(token), correct(token))
        words.append(token)
    text = " ".join(words)
    for pattern, repl in _PHRASES:
        text = pattern.sub(repl, text)
    return text
