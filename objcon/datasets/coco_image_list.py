"""The image list of a COCO-style json, read without reading its annotations."""
import json
import re
from typing import Any, List, TextIO

from objcon.errors import InputError

_WHITESPACE = re.compile(r'\s*')
# the next character that opens or closes a container or starts a string
_STRUCTURE = re.compile(r'["\[\]{}]')
# the rest of a string after its opening quote, through the closing quote
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.S)
# a number, true, false or null
_SCALAR = re.compile(r'[^,\]}\s]*')


class _TopLevelReader:
    """Reads a json file's top-level object key by key, decoding only the
    values asked for; the file is read in growing chunks, and no further than
    the last value needed."""

    def __init__(self, file: TextIO, path: str, chunk_size: int) -> None:
        self.file, self.path, self.chunk_size = file, path, chunk_size
        self.buf, self.pos, self.eof = '', 0, False
        self.decoder = json.JSONDecoder()

    def malformed(self, what: str) -> InputError:
        return InputError(f'{self.path!r} is not a COCO-style json ({what})')

    def fill(self) -> bool:
        """Read more (as much again as is buffered); False at the end."""
        if self.eof:
            return False
        self.buf = self.buf[self.pos:]
        self.pos = 0
        chunk = self.file.read(max(self.chunk_size, len(self.buf)))
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def peek(self) -> str:
        """The next character that is not white space ('' at the end)."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self.fill():
                return self.buf[self.pos:self.pos + 1]

    def expect(self, chars: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            raise self.malformed(f'expected one of {chars!r} at character '
                                 f'{self.pos} of a read chunk, found {char!r}')
        self.pos += 1
        return char

    def decode(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as e:
                if self.fill():  # the value may go on in the next chunk
                    continue
                raise self.malformed(e.msg) from None
            self.pos = end
            return value

    def skip(self) -> None:
        """Pass over one value without decoding it: only its brackets and
        string boundaries are looked at."""
        first = self.peek()
        if first not in '[{"':
            while True:  # a scalar: up to the next separator
                self.pos = _SCALAR.match(self.buf, self.pos).end()
                if self.pos < len(self.buf) or not self.fill():
                    return
        depth = 0
        while True:
            match = _STRUCTURE.search(self.buf, self.pos)
            if match is None:
                self.pos = len(self.buf)
                if not self.fill():
                    raise self.malformed('the file ends inside a value')
                continue
            char = match.group()
            if char == '"':
                rest = _STRING_REST.match(self.buf, match.end())
                if rest is None:
                    self.pos = match.start()  # read on from the quote
                    if not self.fill():
                        raise self.malformed('the file ends inside a string')
                    continue
                self.pos = rest.end()
            else:
                self.pos = match.end()
                depth += 1 if char in '[{' else -1
                if depth < 0:
                    raise self.malformed(f'unbalanced {char!r}')
            if depth == 0:
                return


def read_coco_image_list(path: str, chunk_size: int = 1 << 20) -> List[str]:
    """The ``file_name`` of every entry of a COCO-style json's ``images``.

    Only the image list is decoded. The file's top-level object is read key by
    key: ``images`` is decoded and reading stops there; any value before it
    (``annotations`` included, in files that put it first) is skipped by its
    brackets and string boundaries, never decoded. COCO's own files put
    ``images`` before ``annotations``, so most of their annotations are not even
    read from the disk (reading stops within one read past ``images``). No
    ground truth can reach pretraining this way, and of a 448 MB
    ``instances_train2017.json`` only the image list is decoded, not the 860,001
    annotations ``json.load`` would turn into Python objects.

    Args:
        path (str): The json file.
        chunk_size (int): Characters read at first; each further read doubles
            what is buffered. Defaults to 1 MiB.

    Returns:
        list[str]: The file names, in the file's order.

    Raises:
        InputError: The file is missing or unreadable, is not a json object,
            has no ``images`` list, an empty one, or an entry without a
            ``file_name`` string.
    """
    try:
        with open(path, encoding='utf-8') as file:
            reader = _TopLevelReader(file, path, chunk_size)
            reader.expect('{')
            images = None
            if reader.peek() != '}':
                while True:
                    key = reader.decode()
                    if not isinstance(key, str):
                        raise reader.malformed(f'a key is {key!r}')
                    reader.expect(':')
                    if key == 'images':
                        images = reader.decode()
                        break
                    reader.skip()
                    if reader.expect(',}') == '}':
                        break
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f'cannot read the image list {path!r}: {e}') from None
    if not isinstance(images, list):
        raise InputError(f'{path!r} has no "images" list (a COCO-style json has '
                         '"images": [{"file_name": ...}, ...])')
    if not images:
        raise InputError(f'{path!r} lists no images ("images" is empty)')
    names = []
    for i, entry in enumerate(images):
        name = entry.get('file_name') if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            raise InputError(f'{path!r}: entry {i} of "images" has no file_name '
                             f'string: {str(entry)[:200]}')
        names.append(name)
    return names
