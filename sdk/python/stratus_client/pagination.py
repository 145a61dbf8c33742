"""Pages of list endpoints that page, and iterating over all of them.

Hand-written, beside the code ``sdk/generate`` writes. Two endpoints page: ``GET /v1/audio/jobs`` (``after`` =
the previous page's ``last_id`` while ``has_more``) and ``GET
/v1/usage/events`` (``cursor`` = the previous answer's ``x-stratus-cursor``
header while ``x-stratus-has-more: true``). Both come back as a page whose
iteration yields every item of every page, fetching the next page when it
gets there, as OpenAI's SDK pages do:

```python
for job in client.list_jobs(limit=50):       # every job, 50 per request
    ...
page = client.usage_events(page_size=1000)   # one page
page.data, page.has_more, page.next_cursor   # resume later from next_cursor
for page in page.iter_pages(): ...
```

The async client's list calls return an :class:`AsyncPaginator`: ``await``
it for the first page, or ``async for`` over every item.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SyncPage(Generic[T]):
    """One page: ``data``, ``has_more`` and ``next_cursor`` (what the next
    page is asked with: a job id or a usage cursor). Iterating yields the
    items of this page and every later one."""

    def __init__(
        self,
        data: list[T],
        *,
        has_more: bool,
        next_cursor: str | None,
        fetch: Callable[[str], SyncPage[T]],
    ) -> None:
        self.data = data
        self.has_more = has_more
        self.next_cursor = next_cursor
        self._fetch = fetch

    def has_next_page(self) -> bool:
        return self.has_more and self.next_cursor is not None

    def get_next_page(self) -> SyncPage[T]:
        if not self.has_next_page():
            raise StopIteration("this is the last page")
        assert self.next_cursor is not None
        return self._fetch(self.next_cursor)

    def iter_pages(self) -> Generator[SyncPage[T], None, None]:
        page = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = page.get_next_page()

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(data=<{len(self.data)} items>, has_more={self.has_more}, next_cursor={self.next_cursor!r})"


class AsyncPage(Generic[T]):
    """The async :class:`SyncPage`: ``await page.get_next_page()``,
    ``async for page in page.iter_pages()``, ``async for item in page``."""

    def __init__(
        self,
        data: list[T],
        *,
        has_more: bool,
        next_cursor: str | None,
        fetch: Callable[[str], Awaitable[AsyncPage[T]]],
    ) -> None:
        self.data = data
        self.has_more = has_more
        self.next_cursor = next_cursor
        self._fetch = fetch

    def has_next_page(self) -> bool:
        return self.has_more and self.next_cursor is not None

    async def get_next_page(self) -> AsyncPage[T]:
        if not self.has_next_page():
            raise StopAsyncIteration("this is the last page")
        assert self.next_cursor is not None
        return await self._fetch(self.next_cursor)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        page = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = await page.get_next_page()

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(data=<{len(self.data)} items>, has_more={self.has_more}, next_cursor={self.next_cursor!r})"


class AsyncPaginator(Generic[T]):
    """What the async list calls return: ``await`` it for the first page,
    or ``async for`` over every item of every page."""

    def __init__(self, first: Callable[[], Awaitable[Any]]) -> None:
        self._first = first

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._first().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page: AsyncPage[T] = await self._first()
        async for item in page:
            yield item
