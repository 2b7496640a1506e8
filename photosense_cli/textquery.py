"""The text of a search as typed: its words, OR, -word and "phrases", and what FTS5 is
given for them.

Words are found anywhere in the photo, not on one OCR line (lines are the OCR's
artefact): the catalogue searches each photo's lines as one document (photo_text,
migration 16), its lines joined by LINE_BREAK, a token no query can hold, so a phrase
never runs from one line into the next. Every word is a prefix ("whiteb" finds
WHITEBOARD); a term of 3 or more characters is also found inside longer tokens
("ouvr" finds LOUVRE, "1234" the 0012345 of INV-0012345), ranked after the whole-word
and prefix hits: the catalogue finds the words holding the part (a trigram index over
the distinct words, not the whole text) and searches for them. Nothing the user
types reaches FTS5's parser raw: each term is quoted, so quotes, AND, NEAR, *, ^,
parentheses and colons search for what they say.

Syntax: words (all of them), "a phrase" (its words in order, within one line),
a OR b (either), -word or -"a phrase" (none of them; or --not-text WORD, since a
leading - is read as an option unless it comes after --). OR in capitals between
two terms is the operator; "OR" quoted is the word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

# Words as FTS5's unicode61 tokenizer cuts them: the one tokenizing of search.
WORD = re.compile(r"\w+", re.UNICODE)


def fold(word: str) -> str:
    """Case and accents away, as the FTS5 tokenizer (unicode61, remove_diacritics 2) does."""
    if word.isascii():  # most text: 10x faster than decomposing it character by character
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


# Between a photo's lines in photo_text: U+E000 is a private-use character, which FTS5's
# unicode61 tokenizer keeps as a token (category Co) and no query word can hold (\w does
# not match it), so it breaks phrase adjacency without ever being found itself.
LINE_BREAK = "\n\ue000\n"
# The trigram tokenizer matches 3 characters and more; a shorter part of a word is
# searched as a prefix only.
MIN_PART = 3
# A query is read as typed, bounded: 100 terms cover any real search.
MAX_TERMS = 100

_TERM = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@dataclass(frozen=True)
class Term:
    """A word, or a phrase (several words in order, within one line), as typed."""

    words: tuple[str, ...]  # folded, as the index holds them
    raw: str  # as typed (without quotes or a leading -)

    def fts(self) -> str:
        """Whole words, the last a prefix: "grand hot"* finds GRAND HOTEL."""
        return _quote(" ".join(self.words)) + "*"

    def in_tokens(self, tokens: Sequence[str]) -> bool:
        """Whether a line's folded tokens hold this term as the word index finds it."""
        if len(self.words) == 1:
            return any(t.startswith(self.words[0]) for t in tokens)
        n = len(self.words)
        *whole, last = self.words
        return any(list(tokens[i:i + n - 1]) == whole and tokens[i + n - 1].startswith(last)
                   for i in range(len(tokens) - n + 1))

    @property
    def part(self) -> str | None:
        """The word to find inside longer words too: a single word long enough."""
        return self.words[0] if len(self.words) == 1 and len(self.words[0]) >= MIN_PART \
            else None


@dataclass
class TextQuery:
    """Every group must match (AND); a group matches when any of its terms does (OR)."""

    groups: list[list[Term]] = field(default_factory=list)
    negatives: list[Term] = field(default_factory=list)

    def fts(self) -> str | None:
        """The photo-level word query, or None when nothing is asked to be found."""
        if not self.groups:
            return None
        found = " AND ".join("(" + " OR ".join(t.fts() for t in g) + ")" for g in self.groups)
        return f"({found}) NOT ({self.not_fts()})" if self.negatives else found

    def not_fts(self) -> str | None:
        return " OR ".join(t.fts() for t in self.negatives) or None

    def has_parts(self) -> bool:
        return any(t.part for g in self.groups for t in g)

    def parts_fts(self, containing: Callable[[str], list[str]]) -> str | None:
        """The query with each long enough word also standing for the words that hold it
        (`containing` lists them); None when no word holds any (the word query is all).
        It finds what fts() finds and more: the photos fts() found are left out."""
        grown = False

        def term(t: Term) -> str:
            nonlocal grown
            holders = containing(t.part) if t.part else []
            grown = grown or bool(holders)
            return " OR ".join([t.fts(), *map(_quote, holders)])

        found = " AND ".join("(" + " OR ".join(term(t) for t in g) + ")" for g in self.groups)
        if not grown:
            return None
        return f"({found}) NOT ({self.not_fts()})" if self.negatives else found

    def one_word(self) -> str | None:
        """The single word, when that is all the query is (the fast ranked path)."""
        if len(self.groups) == 1 and len(self.groups[0]) == 1 and not self.negatives:
            term = self.groups[0][0]
            return term.words[0] if len(term.words) == 1 else None
        return None

    @property
    def words(self) -> list[str]:
        """Every word asked for, folded: what a hit's lines are marked with."""
        return [w for g in self.groups for t in g for w in t.words]

    @property
    def parts(self) -> list[str]:
        """The words that may be found inside longer words, folded."""
        return [t.part for g in self.groups for t in g if t.part]

    def matches(self, lines: Sequence[str], parts: bool = True) -> int:
        """How a photo's lines match, as the indexes would: 0 not at all (a group with no
        term in any line, or a word left out in one), 1 every group within one line,
        2 across lines, 3 only with a word inside a longer word (parts)."""
        # most photos hold none of the words: a folded word that is not even a substring
        # of the folded text is in no token (1 us, where cutting the tokens takes 50)
        whole = fold(" ".join(lines))
        if not all(any(t.words[0] in whole for t in g) for g in self.groups):
            return 0
        tokens = [[fold(w) for w in WORD.findall(text)] for text in lines]
        if any(t.in_tokens(line) for t in self.negatives for line in tokens):
            return 0
        if any(all(any(t.in_tokens(line) for t in g) for g in self.groups) for line in tokens):
            return 1
        if all(any(t.in_tokens(line) for t in g for line in tokens) for g in self.groups):
            return 2
        if parts and all(any(t.in_tokens(line) or (t.part and any(t.part in w for w in line))
                             for t in g for line in tokens) for g in self.groups):
            return 3
        return 0

    def line_has_all(self, text: str) -> bool:
        """Every group matched within this one line: ranked first."""
        tokens = [fold(w) for w in WORD.findall(text)]
        return all(any(t.in_tokens(tokens) for t in g) for g in self.groups)

    def line_has_any(self, text: str) -> bool:
        """Some term of the query in this line, whole, as a prefix or as a part: shown."""
        tokens = [fold(w) for w in WORD.findall(text)]
        return any(t.in_tokens(tokens) or (t.part and any(t.part in w for w in tokens))
                   for g in self.groups for t in g)


def _term(raw: str) -> Term | None:
    # control characters are nothing a photo's text is searched for, and a NUL would end
    # FTS5's string early
    raw = "".join(c for c in raw if c.isprintable() or c == " ")
    words = tuple(fold(w) for w in WORD.findall(raw))
    return Term(words, raw.strip()) if words else None


def parse(text: str | None, not_text: Iterable[str] = ()) -> TextQuery | None:
    """The query as typed; None when it holds no word at all (emoji, punctuation)."""
    q = TextQuery()
    pending_or = False
    for m in list(_TERM.finditer(text or ""))[:MAX_TERMS]:
        quoted = m[2] is not None
        token = m[2] if quoted else m[3]
        negative = m[1] == "-" or (not quoted and token.startswith("-") and len(token) > 1)
        if not quoted and token == "OR" and q.groups and not pending_or:
            pending_or = True
            continue
        term = _term(token[1:] if negative and not quoted else token)
        if term is None:
            continue
        if negative:
            q.negatives.append(term)
        elif pending_or:
            q.groups[-1].append(term)
        else:
            q.groups.append([term])
        pending_or = False
    for raw in not_text:
        if (term := _term(raw)) is not None:
            q.negatives.append(term)
    return q if q.groups or q.negatives else None


def with_negatives(text: str | None, not_text: Iterable[str]) -> str | None:
    """The text with --not-text values written into it as -"..." (a saved search keeps
    one text). A quote inside a value cannot be written, and is a separator anyway."""
    left_out = ['-"' + t.replace('"', " ").strip() + '"' for t in not_text if _term(t)]
    return " ".join([text, *left_out] if text else left_out) or text
