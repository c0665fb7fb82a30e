import { contentDisposition, normaliseContentType, sanitizeFilename } from './filename';

describe('sanitizeFilename', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\ann\\secret.txt', 'secret.txt'],
    ['dir/sub\\mixed/name.txt', 'name.txt'],
    ['bad\u0000na\u0007me\r\n.txt', 'badname.txt'],
    ['tab\tand\u007fdel\u0085.txt', 'tabanddel.txt'],
    ['evil\u202Etxt.exe', 'eviltxt.exe'],
    ['   spaced out.txt   ', 'spaced out.txt'],
    ['', 'file'],
    ['../', 'file'],
    ['..', 'file'],
    ['\u0001\u0002', 'file'],
    ['Überweisung 2026 – März.pdf', 'Überweisung 2026 – März.pdf'],
  ])('%j → %j', (input, expected) => expect(sanitizeFilename(input)).toBe(expected));

  it('handles a missing name', () => {
    expect(sanitizeFilename(undefined)).toBe('file');
    expect(sanitizeFilename(null)).toBe('file');
  });

  it('keeps at most 255 characters without splitting a surrogate pair', () => {
    expect(sanitizeFilename('a'.repeat(300))).toHaveLength(255);
    const emoji = sanitizeFilename('😀'.repeat(300));
    expect(Array.from(emoji)).toHaveLength(255);
    expect(emoji).toBe('😀'.repeat(255));
  });
});

describe('contentDisposition', () => {
  it('plain ASCII: filename only', () => {
    expect(contentDisposition('report.pdf')).toBe('attachment; filename="report.pdf"');
  });

  it('non-ASCII: an ASCII fallback and filename*', () => {
    expect(contentDisposition('März €.txt')).toBe(
      `attachment; filename="M_rz _.txt"; filename*=UTF-8''M%C3%A4rz%20%E2%82%AC.txt`,
    );
  });

  it('quotes and backslashes never break out of the quoted string', () => {
    expect(contentDisposition(`a"b\\c'(d).txt`)).toBe(
      `attachment; filename="a_b_c'(d).txt"; filename*=UTF-8''a%22b%5Cc%27%28d%29.txt`,
    );
  });
});

describe('normaliseContentType', () => {
  it('drops parameters and lower-cases', () => {
    expect(normaliseContentType('Text/Plain; charset=UTF-8')).toBe('text/plain');
    expect(normaliseContentType(undefined)).toBe('');
  });
});
