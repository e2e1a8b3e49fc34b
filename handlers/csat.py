"""The customer's answer to a satisfaction survey: a score button, or a typed score ("5", "bagus banget",
"jelek", "4 mantap", "😊"), then an optional comment.

The survey message leaves `state["csat"]` in the chat (`crm.csat`): the next message answers it
if it reads as a score (or, after the score, as a comment); anything else — a new order, a
question — goes on to the other handlers and the router drops the survey from the chat. A
button press counts whenever it comes.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from core import messages as m
from core.normalize import tokens
from core.texts import button
from crm.csat import LOW
from handlers.base import Context
from handlers.effects import Answer, CommentOnService, RateService, SkipSurveyComment
from handlers.handoff import asks_for_a_person
from handlers.menu import menu_choices

BUTTON = re.compile(r"^csat:(\d+):([1-5]|skip)$")
# Intents that ask for something: a message the NLU is sure is one of these is not a comment.
REQUESTS = {"order", "order_status", "cancel_order", "faq", "promotion", "location", "human_handoff"}
ORDER_ACTIONS = {"order", "order_status", "cancel_order"}

# "5", "4 mantap", "4/5", "nilai 4", "5 bintang", "aku kasih 5 ya kak" (not "5.000", not "10").
SCORE_FIRST = re.compile(r"^\s*(?:(?:nilai(?:nya)?|rating|rate|skor|score|bintang|(?:aku |saya |ku )?kasih)\s*:?\s*)?"
                         r"([1-5])(?![.,:]?\d)\s*(?:(?:/|dari|of|out of)\s*5\b)?\s*(?:bintang|stars?|⭐+)?"
                         r"[\s.,;:!)\-]*(.*)$", re.IGNORECASE | re.DOTALL)
STARS = re.compile(r"^\s*([⭐★]{1,5})\s*$")
# Typed faces, by the contract's mapping (😞 = 1, 😐 = 3, 😊 = 5) and their neighbours.
FACES = {"😞": 1, "😡": 1, "😠": 1, "🤬": 1, "😭": 1, "😢": 1, "😩": 1, "😫": 1, "🤮": 1,
         "🙁": 2, "☹": 2, "😕": 2, "😒": 2, "👎": 2, "😔": 2,
         "😐": 3, "😑": 3, "😶": 3,
         "🙂": 4, "👍": 4, "👌": 4,
         "😊": 5, "😀": 5, "😃": 5, "😄": 5, "😁": 5, "😍": 5, "🥰": 5, "🤩": 5, "❤": 5, "💯": 5, "🔥": 5}
# Words (as `core.normalize.tokens` spells them: slang and typos already mapped) and the score they say.
WORDS = {
    **dict.fromkeys(("mantap", "keren", "puas", "sempurna", "excellent", "great", "amazing", "awesome", "perfect",
                     "love", "best", "terbaik", "juara", "top", "recommended", "rekomen", "memuaskan", "gokil",
                     "fantastic", "wonderful", "outstanding"), 5),
    **dict.fromkeys(("bagus", "baik", "enak", "good", "nice", "suka", "cepat", "cepet", "ramah", "sip", "lumayan",
                     "senang", "happy", "helpful", "like", "fast", "friendly", "tasty", "satisfied"), 4),
    **dict.fromkeys(("biasa", "ok", "okay", "standar", "average", "cukup", "fine", "netral", "neutral"), 3),
    **dict.fromkeys(("kecewa", "jelek", "buruk", "lambat", "lama", "bad", "poor", "slow", "meh", "disappointed",
                     "disappointing", "mengecewakan"), 2),
    **{f"phrase{score}": score for score in range(1, 6)},  # see PHRASES
    **dict.fromkeys(("parah", "terrible", "awful", "horrible", "worst", "hancur", "benci", "hate", "kapok", "zonk"), 1),
}
PHRASES = {("luar", "biasa"): 5, ("so", "so"): 3, ("b", "saja"): 3, ("not", "bad"): 4}
NEGATIONS = {"tidak", "not", "bukan", "kurang", "no", "never", "gak", "nggak"}
INTENSIFIERS = {"banget", "sekali", "sangat", "amat", "very", "so", "really", "super", "extremely", "sungguh", "poll",
                "abis", "bener", "beneran", "totally"}
# Words around a score that say nothing more ("bagus kak makasih ya").
FILLERS = {"kak", "kakak", "ka", "sih", "deh", "dong", "ya", "yah", "iya", "nih", "kok", "saja", "min", "admin",
           "gan", "sis", "bro", "the", "it", "is", "was", "its", "overall", "semua", "semuanya", "nya", "yang",
           "sudah", "udah", "makasih", "terima", "kasih", "thanks", "thank", "you", "emjpray", "emjwave", "emjparty",
           "aku", "saya", "menurut", "menurutku", "pokoknya", "and", "dan", "tapi", "but", "juga", "also", "too",
           "rasanya", "rasa", "mah", "lah", "pun", "kali", "ini", "itu", "pelayanan", "pelayanannya", "layanan",
           "service", "servis", "pengalaman", "experience"}
SKIP = re.compile(r"^\s*(lewati|skip|ga(k)? ada|gak|ga|nggak|enggak|tidak( ada)?|nope|no|nothing|none|cukup|udah|sudah)"
                  r"( (kak|aja|saja|deh|sih|ya|thanks|makasih))*\s*[.!]*\s*$", re.IGNORECASE)
# Words of a request or a question: such a message is not a score, whatever else it says.
ASKING = {"mau", "pesan", "pesen", "order", "beli", "minta", "tolong", "tanya", "gimana", "bagaimana", "berapa",
          "apa", "apakah", "kapan", "dimana", "mana", "bisa", "boleh", "ada", "want", "buy", "can", "could", "where",
          "when", "how", "what", "which", "please", "cancel", "batal", "batalkan"}
MAX_TOPIC_WORDS = 3  # more words than this besides the score: a message of its own, not an answer


class Score(NamedTuple):
    """A score read from a typed answer, and what else the customer wrote (their comment)."""

    score: int
    comment: str | None


def read_score(said: str) -> Score | None:
    """The 1–5 score a typed answer gives ("5", "4 mantap", "bagus banget", "jelek", "😊", "⭐⭐⭐⭐"), or None."""
    said = said.strip()
    if not said:
        return None
    if first := SCORE_FIRST.match(said):
        rest = first.group(2).strip()
        # "5 ya kak" and "4 mantap" say no more than the score: the comment is still asked for.
        says_more = any(word not in FILLERS and word not in WORDS and word not in INTENSIFIERS for word in tokens(rest))
        return Score(int(first.group(1)), rest if says_more else None)
    if stars := STARS.match(said):
        return Score(len(stars.group(1)), None)
    faces = [FACES[char] for char in said.replace("\ufe0f", "") if char in FACES]
    words = _word_scores(said)
    if words is None:
        return None
    found, topic = words
    scores = faces + found
    if not scores:
        return None
    return Score(max(1, min(5, int(sum(scores) / len(scores) + 0.5))), said if topic else None)


def _word_scores(said: str) -> tuple[list[int], int] | None:
    """The scores the words say and how many other words there are (None: a request, or too many to be an answer)."""
    words = [word for word in _phrases(tokens(said)) if word not in FILLERS and not word.startswith("emj")]
    # Faces were read from the text itself (FACES); their `emj…` tokens say nothing more.
    if "?" in said or ASKING & set(words):
        return None
    scores, topic = [], 0
    for index, word in enumerate(words):
        before, after = words[index - 1] if index else "", words[index + 1] if index + 1 < len(words) else ""
        if word in WORDS:
            score = WORDS[word]
            if before in NEGATIONS:
                score = 2 if score >= 3 else 4  # "ga bagus", "kurang puas"; "ga jelek"
            elif {before, after} & INTENSIFIERS:
                score = {4: 5, 2: 1}.get(score, score)  # "bagus banget", "jelek bgt", "sangat kecewa"
            scores.append(score)
        elif word == "kurang" and after not in WORDS:
            scores.append(2)  # "kurang" alone: not good enough
        elif word not in NEGATIONS and word not in INTENSIFIERS:
            topic += 1
    return None if topic > MAX_TOPIC_WORDS else (scores, topic)


def _phrases(words: list[str]) -> list[str]:
    """The words with each two-word phrase of PHRASES as one word ("luar biasa" → the word for 5)."""
    merged, index = [], 0
    while index < len(words):
        pair = tuple(words[index:index + 2])
        merged.append(f"phrase{PHRASES[pair]}" if pair in PHRASES else words[index])
        index += 2 if pair in PHRASES else 1
    return merged


class SurveyHandler:
    """A score (button or typed) and then a comment for the satisfaction survey the chat is waiting on."""

    name = "csat"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """A survey button; or, while the chat waits on a survey, a typed score or comment."""
        if inbound.kind == m.POSTBACK:
            return BUTTON.match(inbound.postback_data or "") is not None and ctx.data is not None
        waiting = ctx.state.get("csat")
        if not waiting or inbound.kind != m.MESSAGE or inbound.message_type != "text" or inbound.command:
            return False
        if waiting.get("stage") == "comment":
            return not self._asks_instead_of_commenting(inbound, ctx)
        score = read_score(inbound.text or "")
        # "2 kopi susu ya" starts with a number too: an order (or a question) the NLU is sure of is not a score.
        return score is not None and (score.comment is None or not self._asks_something(ctx))

    @staticmethod
    def _asks_something(ctx: Context) -> bool:
        return ctx.analysis is not None and ctx.analysis.intent in REQUESTS and ctx.confident

    @staticmethod
    def _asks_instead_of_commenting(inbound: m.Inbound, ctx: Context) -> bool:
        """After "any comment?" nearly anything is the comment ("adminnya ramah bgt", "nunggu balesan agak lama"):
        only an outright request for a person, an order action, or a question leaves the survey."""
        said = inbound.text or ""
        if asks_for_a_person(said):
            return True
        if ctx.analysis is None or not ctx.confident or ctx.analysis.intent not in REQUESTS - {"human_handoff"}:
            return False
        return ctx.analysis.intent in ORDER_ACTIONS or "?" in said or bool(ASKING & set(tokens(said)))

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Thank for the score and offer the comment; keep the comment; or say the score is already in."""
        if inbound.kind == m.POSTBACK:
            survey_id, choice = BUTTON.match(inbound.postback_data).groups()
            if choice == "skip":
                ctx.state.pop("csat", None)
                return Answer([m.Reply(text=ctx.say("csat_skipped"))], (SkipSurveyComment(int(survey_id)),))
            return self._rate(ctx, int(survey_id), Score(int(choice), None))
        waiting = ctx.state["csat"]
        if waiting.get("stage") == "comment":
            ctx.state.pop("csat", None)
            if waiting.get("low"):
                ctx.state["alerted"] = True  # the low-rating alert, updated with this comment, covers it
            said = inbound.text or ""
            if SKIP.match(said) or all(word in FILLERS for word in tokens(said)):
                return Answer([m.Reply(text=ctx.say("csat_skipped"))],  # "ga ada", "makasih kak": no comment
                              (SkipSurveyComment(waiting["survey"]),))
            return Answer([m.Reply(text=ctx.say("csat_comment_noted"))],
                          (CommentOnService(waiting["survey"], said),))
        return self._rate(ctx, waiting["survey"], read_score(inbound.text or ""))

    @staticmethod
    def _rate(ctx: Context, survey_id: int, said: Score) -> Answer:
        survey = ctx.data.survey(survey_id)
        if survey is None:
            ctx.state.pop("csat", None)
            return Answer([m.Reply(text=ctx.say("unknown_button"), choices=menu_choices(ctx.language))])
        if survey.score is not None:
            ctx.state.pop("csat", None)
            return Answer([m.Reply(text=ctx.say("csat_already"))])
        rated = RateService(survey_id, said.score, said.comment)
        if said.score <= LOW:
            ctx.state["alerted"] = True  # the low-rating alert covers the negative-message one
        if said.comment:
            ctx.state.pop("csat", None)
            return Answer([m.Reply(text=ctx.say("csat_thanks_with_comment"))], (rated,))
        ctx.state["csat"] = {"survey": survey_id, "stage": "comment", "low": said.score <= LOW}
        skip = m.Choice(label=button("skip", ctx.language), data=f"csat:{survey_id}:skip")
        words = "csat_thanks_low" if said.score <= LOW else "csat_thanks"
        return Answer([m.Reply(text=ctx.say(words), choices=(skip,))], (rated,))
