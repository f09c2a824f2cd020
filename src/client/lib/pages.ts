// Lists that page with `next_cursor` (jobs, models, keys), walked with `for await`: one request
// per page, as the caller reads on.

export interface CursorPage<T> {
  data: T[];
  next_cursor: string | null;
}

export async function* eachItem<T>(fetchPage: (cursor: string | undefined) => Promise<CursorPage<T>>, limit = Infinity): AsyncGenerator<T> {
  let cursor: string | undefined;
  let seen = 0;
  for (;;) {
    const page = await fetchPage(cursor);
    for (const item of page.data) {
      if (seen++ >= limit) return;
      yield item;
    }
    if (!page.next_cursor || !page.data.length) return;
    cursor = page.next_cursor;
  }
}
