// The key per-address limits count a client under.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressKey } from '../src/http/address.js';

describe('client address keys', () => {
  it('keeps IPv4 as is, also when mapped into IPv6', () => {
    assert.equal(addressKey('203.0.113.5'), '203.0.113.5');
    assert.equal(addressKey('::ffff:203.0.113.5'), '203.0.113.5');
    assert.equal(addressKey('::ffff:cb00:7105'), '203.0.113.5');
  });

  it('counts IPv6 by its /64, however the address is written', () => {
    const key = '2001:db8:1:2::/64';
    for (const a of ['2001:db8:1:2::1', '2001:0DB8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2:3:4:5:6', '2001:db8:1:2::10.0.0.1', 'fe80::1%eth0'.replace('fe80::1', '2001:db8:1:2::9')]) {
      assert.equal(addressKey(a), key, a);
    }
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.notEqual(addressKey('2001:db8:1:3::1'), key);
  });

  it('passes anything that is not an address through unchanged', () => {
    assert.equal(addressKey('unknown'), 'unknown');
  });
});
