import { buildPageQuery } from './audit-query.builder';

describe('buildPageQuery: a text search slice', () => {
  const page = (slice: { above?: string; atOrBelow?: string; byHour?: boolean }) =>
    buildPageQuery({ q: 'quokka' }, { order: 'desc', limit: 51, slice });

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
});
