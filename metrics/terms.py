"""What unhappy customers complain about: the words and two-word phrases that occur
markedly more often in low-score comments than in the others. Pure: comments in,
terms out.

Each comment is read in its customer's language: lower-cased, cut into words, the
language's stop words dropped and the rest stemmed with that language's Snowball
stemmer (English, Swedish, Norwegian, Danish, Finnish; West Frisian has none, so its
words are only lower-cased), so "waited", "waiting" and "wait" are one term. A phrase
is two words in a row that are not stop words, or a negation and the word after it
("never called", "inte löst"): negations are kept for that. A term counts once per
comment. It is shown when at least MIN_COMMENTS low-score comments contain it and the
log odds of a low comment containing it against another comment containing it are
above zero at 95 % (a z of 1.96 with half a comment added to each cell), strongest
first; its most common written form is shown.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

import snowballstemmer

STEMMERS = {"en": "english", "sv": "swedish", "nb": "norwegian", "da": "danish", "fi": "finnish"}
MIN_COMMENTS = 3
Z95 = 1.959963984540054
# A word: letters, with an apostrophe inside ("didn't"); curly apostrophes are made straight.
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
CURLY_APOSTROPHE = "\u2019"

# Negations: kept at the head of a phrase, since "not solved" is the complaint.
NEGATIONS = {
    "en": {"not", "no", "never", "nobody", "nothing", "didn't", "don't", "wasn't", "isn't"},
    "sv": {"inte", "ej", "aldrig", "ingen", "inget", "inga", "ingenting"},
    "nb": {"ikke", "ikkje", "aldri", "ingen", "ingenting", "intet"},
    "da": {"ikke", "aldrig", "ingen", "intet", "ingenting"},
    "fi": {"ei", "en", "et", "emme", "ette", "eivät", "eikä", "koskaan", "mitään"},
    "fy": {"net", "nea", "nimmen", "neat", "noait", "gjin"},
}
# The words that carry no complaint of their own: pronouns, articles, auxiliaries,
# prepositions and conjunctions of each language, and courtesy words.
_STOP = {
    "en": """a about above after again all also am an and any are as at be because been
        before being below between both but by can could did do does doing down during each
        few for from further had has have having he her here hers herself him himself his how
        i if in into is it its itself just me more most my myself of off on once only or
        other our ours ourselves out over own same she should so some such than that the
        their theirs them themselves then there these they this those through to too under
        until up very was we were what when where which while who whom why will with would
        you your yours yourself yourselves hi hello thanks thank please regards dear ok okay
        get got one us i'm it's that's i've i'd i'll you're we're they're""",
    "sv": """och det att i en jag hon som han på den med var sig för så till är men ett om
        hade de av icke mig du henne då sin nu har inte hans honom skulle hennes där min man
        ej vid kunde något från ut när efter upp vi dem vara vad över än dig kan sina här ha
        mot alla under någon eller allt mycket sedan denna detta dessa sitt bara vilken mitt
        vilket ditt vem vilket sitta blev bli blir era ert ert oss hej tack vänliga hälsningar
        mvh också ju väl""",
    "nb": """og i jeg det at en et den til er som på de med han av ikke der så var meg seg
        men ett har om vi min mitt ha hadde hun nå over da ved fra du ut sin dem oss opp man
        kan hans hvor eller hva skal selv sjøl her alle vil bli ble blitt kunne inn når være
        kom noen noe ville dere som deres kun ja etter ned skulle denne for deg si sine sitt
        mot å meget hvorfor dette disse uten hvordan ingen din ditt blir samme hvilken hvilke
        sånn inni mellom vår hver hvem vors hvis både bare enn fordi før mange også slik vært
        hei takk hilsen mvh""",
    "da": """og i jeg det at en den til er som på de med han af for ikke der var mig sig men
        et har om vi min havde ham hun nu over da fra du ud sin dem os op man hans hvor eller
        hvad skal selv her alle vil blev kunne ind når være dog noget ville jo deres efter ned
        skulle denne end dette mit også under have dig anden hende mine alt meget sit sine
        vor mod disse hvis din nogle hos blive mange ad bliver hendes været thi jer sådan hej
        tak venlig hilsen mvh""",
    "fi": """olla olen olet on olemme olette ovat ole oli olisi olisit olisin olisimme
        olisitte olisivat olit olin olimme olitte olivat ollut olleet minä sinä hän me te he
        minun sinun hänen meidän teidän heidän minua sinua häntä meitä teitä heitä minulle
        sinulle hänelle meille teille heille minulla sinulla hänellä meillä teillä heillä
        tämä tämän tätä tässä tästä tähän tuo tuon tuota se sen sitä siinä siitä siihen ne
        niiden niitä niissä niistä niihin mikä mitä missä mistä mihin kuka kenen joka jonka
        jota jossa josta johon että ja jos koska kuin mutta niin sekä sillä tai vaan vai vaikka
        kanssa mukaan noin poikki yli kun nyt itse myös vain jo hei kiitos terveisin
        ystävällisin""",
    "fy": """de it in en is fan op ik wy hy sy dat mei foar om te oan wie ha hawwe hat my jo
        dizze mar al noch sa as dan ek by út nei oer wat wêr hoe wa der hie wiene binne bin
        bist sil soe kin koe moat moast har him ús jim harren myn dyn syn sels hjir dêr no
        doe hoi tank groetnis""",
}
STOP_WORDS = {language: frozenset(words.split()) for language, words in _STOP.items()}


@dataclass(frozen=True)
class Comment:
    text: str
    language: str
    low: bool


@dataclass(frozen=True)
class Term:
    key: str  # the stemmed form: one key for "waited", "waiting", "wait"
    shown: str  # the form written most often
    low: int  # low-score comments containing it
    other: int  # the other comments containing it
    low_total: int
    other_total: int
    z: float  # the log odds ratio over its standard error

    @property
    def low_share(self) -> float:
        return self.low * 100 / self.low_total

    @property
    def other_share(self) -> float:
        return self.other * 100 / self.other_total if self.other_total else 0.0


@cache
def _stemmer(language: str) -> snowballstemmer.stemmer | None:
    name = STEMMERS.get(language)
    return snowballstemmer.stemmer(name) if name else None


@lru_cache(maxsize=100_000)
def _stem(language: str, word: str) -> str:
    """A word's stem (a language's words repeat: each is stemmed once per process)."""
    stemmer = _stemmer(language)
    return stemmer.stemWord(word) if stemmer else word


def _language(language: str) -> str:
    base = (language or "en").lower().split("-")[0].split("_")[0]
    return "nb" if base in ("no", "nn") else base if base in STOP_WORDS else "en"


def comment_terms(text: str, language: str) -> dict[str, str]:
    """The terms of one comment: stemmed key -> the words as written."""
    language = _language(language)
    stop, negations = STOP_WORDS[language], NEGATIONS[language]
    words = WORD.findall(text.lower().replace(CURLY_APOSTROPHE, "'"))
    stems = [_stem(language, word) for word in words]
    terms: dict[str, str] = {}
    for word, stem in zip(words, stems, strict=True):
        if word not in stop and word not in negations and len(word) > 2:
            terms.setdefault(stem, word)
    for (first, first_stem), (second, second_stem) in zip(
        zip(words, stems, strict=True), zip(words[1:], stems[1:], strict=True), strict=False
    ):
        if second in stop or second in negations or len(second) < 3 or first == second:
            continue
        if first in negations or (first not in stop and len(first) > 2):
            head = first if first in negations else first_stem
            terms.setdefault(f"{head} {second_stem}", f"{first} {second}")
    return terms


def complaint_terms(comments: Iterable[Comment], *, limit: int = 15) -> list[Term]:
    """The terms markedly more common in low-score comments, strongest first. Terms
    found in exactly the same comments are one finding: the longest is shown."""
    low_counts: Counter[str] = Counter()
    other_counts: Counter[str] = Counter()
    written: dict[str, Counter[str]] = defaultdict(Counter)
    found_in: dict[str, list[int]] = defaultdict(list)
    low_total = other_total = 0
    for index, comment in enumerate(comments):
        terms = comment_terms(comment.text, comment.language)
        if comment.low:
            low_total += 1
            low_counts.update(terms.keys())
        else:
            other_total += 1
            other_counts.update(terms.keys())
        for key, shown in terms.items():
            written[key][shown] += 1
            found_in[key].append(index)
    found: dict[tuple[int, ...], Term] = {}
    for key, low in low_counts.items():
        if low < MIN_COMMENTS:
            continue
        other = other_counts[key]
        z = log_odds_z(low=low, low_total=low_total, other=other, other_total=other_total)
        if z < Z95:
            continue
        term = Term(key, written[key].most_common(1)[0][0], low, other, low_total, other_total, z)
        same = tuple(found_in[key])
        kept = found.get(same)
        if kept is None or (len(term.shown), term.shown) > (len(kept.shown), kept.shown):
            found[same] = term
    ranked = sorted(found.values(), key=lambda t: (-t.z, -t.low, t.shown))
    return ranked[:limit]


def log_odds_z(*, low: int, low_total: int, other: int, other_total: int) -> float:
    """How many standard errors the log odds ratio of containing a term (low against
    other comments) lies above zero, with half a comment added to each cell."""
    a, b = low + 0.5, low_total - low + 0.5
    c, d = other + 0.5, other_total - other + 0.5
    return (math.log(a / b) - math.log(c / d)) / math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)


def contains_term(text: str, language: str, key: str) -> bool:
    """Whether a comment contains the term (for the list of comments behind it)."""
    return key in comment_terms(text, language)
