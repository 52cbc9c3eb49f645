import { describe, expect, it } from 'vitest';
import {
  UAC,
  filetimeToIso,
  guidDn,
  guidToBytes,
  guidToString,
  isoToFiletime,
  parseExtendedDn,
  samAccountNameProblem,
  sidToString,
  unicodePwd,
  withDisabled,
} from './codec.ts';

describe('objectGUID', () => {
  // Bytes a Samba DC returned for an object whose deleted-object RDN read "DEL:a01f7977-76dc-4ad8-9181-5a09d523b71e":
  // the DC's own rendering of the same GUID, so this checks the byte order against AD rather than against itself.
  const bytes = Buffer.from('77791fa0dc76d84a91815a09d523b71e', 'hex');
  const text = 'a01f7977-76dc-4ad8-9181-5a09d523b71e';

  it('renders the first three fields little-endian, the rest as stored', () => {
    expect(guidToString(bytes)).toBe(text);
  });

  it('round-trips string → bytes → string, whatever the case of the input', () => {
    expect(guidToBytes(text).equals(bytes)).toBe(true);
    expect(guidToBytes(text.toUpperCase()).equals(bytes)).toBe(true);
    expect(guidToString(guidToBytes('00112233-4455-6677-8899-aabbccddeeff'))).toBe(
      '00112233-4455-6677-8899-aabbccddeeff',
    );
  });

  it('refuses what is not a GUID', () => {
    expect(() => guidToString(Buffer.alloc(15))).toThrow(/16 bytes/);
    expect(() => guidToBytes('a01f7977-76dc-4ad8-9181')).toThrow(/not a GUID/);
    expect(guidDn(text.toUpperCase())).toBe(`<GUID=${text}>`);
  });
});

describe('FILETIME (lastLogonTimestamp, pwdLastSet, lockoutTime)', () => {
  it.each([
    ['116444736000000000', '1970-01-01T00:00:00.000Z'],
    // The example in Microsoft's and many admins' write-ups of lastLogonTimestamp: 6/24/2007 5:57:54 AM UTC.
    ['128271382742968750', '2007-06-24T05:57:54.296Z'],
    ['134398102494191030', '2026-11-22T08:37:29.419Z'],
  ])('%s → %s', (ft, iso) => {
    expect(filetimeToIso(ft)).toBe(iso);
  });

  it.each([['0'], ['9223372036854775807'], [''], ['not a number'], ['-1']])('%j means never', (ft) => {
    expect(filetimeToIso(ft)).toBeUndefined();
  });

  it('round-trips a date at millisecond precision', () => {
    const d = '2031-02-03T04:05:06.789Z';
    expect(isoToFiletime(d)).toBe('135723315067890000');
    expect(filetimeToIso(isoToFiletime(d))).toBe(d);
    expect(filetimeToIso(BigInt(isoToFiletime(d)))).toBe(d);
  });
});

describe('objectSid', () => {
  it.each([
    // tokenGroups value for BUILTIN\Users, as a Samba DC returned it
    ['01020000000000052000000021020000', 'S-1-5-32-545'],
    [
      '010500000000000515000000' + '40a2d40a' + 'e87c5726' + '109e2b2e' + '4e040000',
      'S-1-5-21-181707328-643267816-774610448-1102',
    ],
  ])('%s → %s', (hex, sid) => {
    expect(sidToString(Buffer.from(hex, 'hex'))).toBe(sid);
  });

  it('refuses a truncated SID', () => {
    expect(() => sidToString(Buffer.from('0105000000000005', 'hex'))).toThrow(/sub-authorities/);
  });
});

describe('unicodePwd', () => {
  it('is the quoted password in UTF-16LE', () => {
    expect(unicodePwd('Ab1!').toString('hex')).toBe('220041006200310021002200');
    expect(unicodePwd('Zoë€').toString('utf16le')).toBe('"Zoë€"');
  });
});

describe('userAccountControl', () => {
  it.each([
    [UAC.NORMAL_ACCOUNT, true, 0x202],
    [UAC.NORMAL_ACCOUNT | UAC.ACCOUNTDISABLE, false, 0x200],
    [UAC.NORMAL_ACCOUNT | UAC.DONT_EXPIRE_PASSWORD, true, 0x10202],
    [UAC.NORMAL_ACCOUNT | UAC.DONT_EXPIRE_PASSWORD | UAC.ACCOUNTDISABLE, false, 0x10200],
    [UAC.NORMAL_ACCOUNT | UAC.ACCOUNTDISABLE, true, 0x202],
  ])('%i with disabled=%s → %i (other bits kept)', (uac, disabled, want) => {
    expect(withDisabled(uac, disabled)).toBe(want);
  });
});

describe('parseExtendedDn', () => {
  it('splits GUID, SID and the DN', () => {
    expect(
      parseExtendedDn(
        '<GUID=5877D9A1-001e-4cc9-8050-2c49aa653aea>;<SID=S-1-5-21-1-2-3-1105>;CN=grp\\, a,OU=P,DC=corp,DC=test',
      ),
    ).toEqual({
      guid: '5877d9a1-001e-4cc9-8050-2c49aa653aea',
      sid: 'S-1-5-21-1-2-3-1105',
      dn: 'CN=grp\\, a,OU=P,DC=corp,DC=test',
    });
  });

  it('leaves a plain DN alone, and takes a GUID without a SID', () => {
    expect(parseExtendedDn('CN=x,DC=y')).toEqual({ dn: 'CN=x,DC=y' });
    expect(parseExtendedDn('<GUID=5877d9a1-001e-4cc9-8050-2c49aa653aea>;CN=x,DC=y')).toEqual({
      guid: '5877d9a1-001e-4cc9-8050-2c49aa653aea',
      dn: 'CN=x,DC=y',
    });
  });
});

describe('samAccountNameProblem', () => {
  it.each([['jdoe'], ['zoë.ångström'], ['a'.repeat(20)], ['first last']])('%j is fine', (name) => {
    expect(samAccountNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['', /empty/],
    ['a'.repeat(21), /21 characters.*at most 20/],
    ['j/doe', /"\/"/],
    ['a[b]', /"\[", "\]"/],
    ['...', /dots/],
  ])('%j is refused', (name, why) => {
    expect(samAccountNameProblem(name)).toMatch(why);
  });
});
