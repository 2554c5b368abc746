import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { classifyAddress, describeRefusal, displayUrl, isAllowlisted, parseUploadUrl } from '../../../src/transfer/url/policy.js';

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:a00:1', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:192.168.0.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:c0a8:101::', 'private'],
    ['[::1]', 'loopback'],
    ['2001:db8::1', 'reserved'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['::ffff:0:a00:1', 'private'],
    ['64:ff9b:1::a00:1', 'reserved'],
    ['2001:2::1', 'reserved'],
    ['fec0::1', 'unique-local'],
    ['100::1', 'reserved'],
    ['::5:0:0', 'reserved'],
    ['localhost', 'not an IP address'],
    ['1.2.3', 'not an IP address'],
  ])('GIVEN %s THEN it is refused as %s', (address, why) => {
    expect(classifyAddress(address)).toBe(why);
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '169.253.0.1',
    '223.255.255.255',
    '11.0.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    'fec0::1'.replace('fec0', '2400'),
  ])('GIVEN the public address %s THEN it is accepted', (address) => {
    expect(classifyAddress(address)).toBeNull();
  });
});

describe('parseUploadUrl', () => {
  it('GIVEN an https URL THEN it is accepted as is', () => {
    expect(parseUploadUrl(' https://example.com/a/b.iso?x=1 ').href).toBe('https://example.com/a/b.iso?x=1');
  });
  it.each([
    ['plain http', 'http://example.com/a', /Plain `http:\/\/` URLs are refused/],
    ['file://', 'file:///etc/passwd', /`file:` URLs are refused/],
    ['ftp://', 'ftp://example.com/a', /`ftp:` URLs are refused/],
    ['data:', 'data:text/plain,hi', /`data:` URLs are refused/],
    ['credentials', 'https://user:pass@example.com/a', /user name or password/],
    ['a user name alone', 'https://user@example.com/a', /user name or password/],
    ['not a URL', 'example.com/a', /not a URL/],
  ])('GIVEN %s THEN it is refused with a UserError', (_label, input, message) => {
    expect(() => parseUploadUrl(input)).toThrow(UserError);
    expect(() => parseUploadUrl(input)).toThrow(message);
  });
});

describe('isAllowlisted and displayUrl', () => {
  it('GIVEN hosts differing only in case, brackets or a trailing dot THEN they match the allowlist', () => {
    expect(isAllowlisted('LocalHost.', ['localhost'])).toBe(true);
    expect(isAllowlisted('[::1]', ['::1'])).toBe(true);
    expect(isAllowlisted('evil-localhost', ['localhost'])).toBe(false);
    expect(isAllowlisted('sub.localhost', ['localhost'])).toBe(false);
  });
  it('GIVEN a URL with a query THEN the display form hides it', () => {
    expect(displayUrl('https://h.example/f.bin?sig=secret')).toBe('https://h.example/f.bin?…');
  });
  it.each([
    ['file:///etc/passwd', 'file:…'],
    ['data:text/plain,secret', 'data:…'],
    ['ftp://example.com/a?x=1', 'ftp:…'],
  ])('GIVEN %j, which has no web origin THEN the display form is its scheme alone', (url, shown) => {
    expect(displayUrl(url)).toBe(shown);
  });
});

describe('describeRefusal', () => {
  it.each([
    ['loopback', 'a loopback address'],
    ['private', 'a private address'],
    ['carrier-grade NAT', 'a carrier-grade NAT address'],
    ['link-local', 'a link-local address'],
    ['unique-local', 'a unique-local address'],
    ['multicast', 'a multicast address'],
    ['unspecified', 'an unspecified address'],
    ['broadcast', 'a broadcast address'],
    ['reserved', 'a reserved address'],
    ['not an IP address', 'not an IP address'],
  ] as const)('GIVEN %j THEN %j', (why, text) => {
    expect(describeRefusal(why)).toBe(text);
  });
});
