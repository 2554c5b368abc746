/**
 * Preloaded into the bot process by the /upload tests (NODE_OPTIONS=--import <this file>):
 * the names in DFS_TEST_DNS (`name=address,name=address`) resolve to those addresses
 * without asking a DNS server, so tests can use names that point at 127.0.0.1 or at private
 * addresses (refused before any connection). Every other name resolves as usual.
 */
import dns from 'node:dns';
import dnsPromises from 'node:dns/promises';
import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';

const table = new Map(
  (process.env.DFS_TEST_DNS ?? '')
    .split(',')
    .map((entry) => entry.trim().split('='))
    .filter(([name, address]) => name && address && net.isIP(address))
    .map(([name, address]) => [name.toLowerCase(), { address, family: net.isIP(address) }]),
);

const originalLookup = dns.lookup;
const originalPromisesLookup = dnsPromises.lookup;

dns.lookup = function lookup(hostname, options, callback) {
  const cb = typeof options === 'function' ? options : callback;
  const opts = typeof options === 'object' && options !== null ? options : {};
  const hit = table.get(String(hostname).toLowerCase());
  if (!hit) return originalLookup.call(dns, hostname, options, callback);
  process.nextTick(() => (opts.all ? cb(null, [hit]) : cb(null, hit.address, hit.family)));
  return {};
};

dnsPromises.lookup = async function lookup(hostname, options = {}) {
  const hit = table.get(String(hostname).toLowerCase());
  if (!hit) return originalPromisesLookup.call(dnsPromises, hostname, options);
  return typeof options === 'object' && options.all ? [hit] : hit;
};
dns.promises.lookup = dnsPromises.lookup;
syncBuiltinESMExports();
