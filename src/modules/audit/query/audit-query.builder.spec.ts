import { buildPageQuery, PageOptions, SEARCH_HOUR_LIST_MAX } from './audit-query.builder';

describe('buildPageQuery: a text search slice', () => {
  const page = (slice: PageOptions['slice']) =>
    buildPageQuery({ q: 'quokka' }, { order: 'desc', limit: 51, slice });
  const HOUR_COLUMN = `date_trunc('hour', a.occurred_at AT TIME ZONE 'UTC')`;

  it("bounded on both sides with byHour: also from the slice's hour on, on the search index's hour column", () => {
    const q = page({
      above: '2026-12-01T08:30:00.000Z',
      atOrBelow: '2026-12-01T09:30:00.000Z',
      byHour: true,
    });
    expect(q.sql).toContain(`a.occurred_at > $2::timestamptz`);
    expect(q.sql).toContain(`a.occurred_at <= $3::timestamptz`);
    // The slice's lower bound, bound once, also gives the hour.
    expect(q.sql).toContain(
      `date_trunc('hour', a.occurred_at AT TIME ZONE 'UTC') >= date_trunc('hour', $2::timestamptz AT TIME ZONE 'UTC')`,
    );
    expect(q.params.slice(1)).toEqual(['2026-12-01T08:30:00.000Z', '2026-12-01T09:30:00.000Z', 51]);
  });

  it('the newest slice (open towards the future) or one without byHour: no hour bound', () => {
    expect(page({ above: '2026-12-01T08:00:00.000Z', byHour: true }).sql).not.toContain('date_trunc');
    expect(
      page({ above: '2026-12-01T08:00:00.000Z', atOrBelow: '2026-12-01T09:00:00.000Z' }).sql,
    ).not.toContain('date_trunc');
  });

  it("the newest slice by the hour: every UTC hour from above's to through's, each an exact key of the search index", () => {
    const q = page({
      above: '2026-12-31T22:59:59.999Z',
      hours: { through: '2027-01-01T00:00:00.000Z', openEnded: false },
    });
    // The lower bound filters only: the hour list selects the rows (no time-index bitmap of a burst).
    expect(q.sql).toContain(`(a.occurred_at + interval '0 s') > $2::timestamptz`);
    expect(q.sql).not.toContain(`a.occurred_at > $2`);
    expect(q.sql).toContain(`${HOUR_COLUMN} = ANY($3::timestamp[])`);
    expect(q.sql).not.toContain(' OR ');
    // Across midnight and the new year, in UTC, as the index's column (timestamp without time zone).
    expect(q.params[2]).toEqual(['2026-12-31T22:00:00', '2026-12-31T23:00:00', '2027-01-01T00:00:00']);
  });

  it('open-ended (a page that starts now): or at or after the hour after through’s, for events stamped ahead of the clock', () => {
    const q = page({
      above: '2026-12-07T21:15:00.000Z',
      hours: { through: '2026-12-07T22:15:00.000Z', openEnded: true },
    });
    expect(q.sql).toContain(`(${HOUR_COLUMN} = ANY($3::timestamp[]) OR a.occurred_at >= $4::timestamptz)`);
    expect(q.params.slice(2, 4)).toEqual([
      ['2026-12-07T21:00:00', '2026-12-07T22:00:00'],
      '2026-12-07T23:00:00.000Z',
    ]);
    // The LIMIT comes last, as before.
    expect(q.params[q.params.length - 1]).toBe(51);
  });

  it('the list is for a slice of a few hours: longer is a programming error, not a statement', () => {
    const through = new Date(Date.parse('2026-12-07T00:00:00.000Z') + SEARCH_HOUR_LIST_MAX * 3_600_000);
    expect(() =>
      page({
        above: '2026-12-07T00:00:00.000Z',
        hours: { through: through.toISOString(), openEnded: false },
      }),
    ).toThrow(/not a few hours/);
    expect(() =>
      page({ above: 'garbage', hours: { through: '2026-12-07T00:00:00.000Z', openEnded: false } }),
    ).toThrow(/not a few hours/);
  });
});

describe("buildPageQuery: a slice's lower bound also names its month as a literal", () => {
  const sql = (above: string): string =>
    buildPageQuery({}, { order: 'desc', limit: 51, slice: { above }, inlineLimit: true }).sql;
  const floor = (iso: string): string => `a.occurred_at >= '${iso}'::timestamptz`;

  it('the first of the UTC month of `above`, beside the bound itself (a parameter)', () => {
    const q = buildPageQuery({}, { order: 'desc', limit: 51, slice: { above: '2026-11-30T17:52:45.612Z' } });
    expect(q.sql).toContain('a.occurred_at > $1::timestamptz');
    expect(q.sql).toContain(floor('2026-11-01T00:00:00.000Z'));
    expect(q.params[0]).toBe('2026-11-30T17:52:45.612Z');
    // The month is UTC's, whatever the offset the bound was written with.
    expect(sql('2026-12-01T00:30:00+01:00')).toContain(floor('2026-11-01T00:00:00.000Z'));
    expect(sql('2026-01-01T00:00:00.000Z')).toContain(floor('2026-01-01T00:00:00.000Z'));
  });

  it('years 1–99 stay themselves (not 19xx); none outside 1–9999', () => {
    expect(sql('0044-03-15T12:00:00.000Z')).toContain(floor('0044-03-01T00:00:00.000Z'));
    expect(sql('9999-12-31T23:59:59.999Z')).toContain(floor('9999-12-01T00:00:00.000Z'));
    for (const above of ['+010000-01-09T00:00:00.000Z', '-000043-03-15T00:00:00.000Z'])
      expect(sql(above)).not.toMatch(/occurred_at >= '/);
  });

  it('no slice, no month', () => {
    expect(buildPageQuery({}, { order: 'desc', limit: 51 }).sql).not.toMatch(/occurred_at >= '/);
  });
});

describe("buildPageQuery: a slice's lower bound as a literal", () => {
  it('is written into the text, with no month beside it and no parameter for it', () => {
    const above = '2026-11-30T17:00:00.000Z';
    const q = buildPageQuery(
      { outcome: 'failure' },
      { order: 'desc', limit: 51, slice: { above, literal: true }, inlineLimit: true, inlineFilters: true },
    );
    expect(q.sql).toContain(`a.occurred_at > '${above}'::timestamptz`);
    expect(q.sql).not.toContain("occurred_at >= '2026-11-01");
    // With the filter's values and the LIMIT inlined too, the statement has no parameter at all.
    expect(q.params).toEqual([]);
    expect(q.sql).not.toMatch(/\$\d/);
  });

  it('a cursor stays a parameter beside it', () => {
    const after = { occurredAt: '2026-12-01T10:00:00.000000Z', id: '01a25213-25b8-77e1-b4e3-83d238137c06' };
    const q = buildPageQuery(
      {},
      { order: 'desc', limit: 51, after, slice: { above: '2026-11-24T10:00:00.000Z', literal: true } },
    );
    expect(q.sql).toContain(`a.occurred_at > '2026-11-24T10:00:00.000Z'::timestamptz`);
    expect(q.params).toEqual([after.occurredAt, after.id, 51]);
  });
});
