import { MAGIC_BYTES_NEEDED, matchesDeclaredType } from './magic-bytes';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

describe('matchesDeclaredType', () => {
  it('accepts real signatures', () => {
    expect(matchesDeclaredType('image/png', PNG)).toBe(true);
    expect(matchesDeclaredType('image/jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe(true);
    expect(matchesDeclaredType('image/gif', Buffer.from('GIF89a....'))).toBe(true);
    expect(matchesDeclaredType('image/gif', Buffer.from('GIF87a....'))).toBe(true);
    expect(matchesDeclaredType('application/pdf', Buffer.from('%PDF-1.7\n'))).toBe(true);
  });

  it('rejects mismatches and too-short content', () => {
    expect(matchesDeclaredType('image/png', Buffer.from('<html>not a png</html>'))).toBe(false);
    expect(matchesDeclaredType('image/jpeg', PNG)).toBe(false);
    expect(matchesDeclaredType('image/gif', Buffer.from('GIF8'))).toBe(false);
    expect(matchesDeclaredType('application/pdf', Buffer.from('%PD'))).toBe(false);
  });

  it('does not check other types', () => {
    expect(matchesDeclaredType('text/plain', Buffer.from([0x89, 0x50]))).toBe(true);
    expect(matchesDeclaredType('application/zip', Buffer.alloc(0))).toBe(true);
  });

  it('needs 8 leading bytes', () => expect(MAGIC_BYTES_NEEDED).toBe(8));
});
