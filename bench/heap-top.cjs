/** `node bench/heap-top.cjs PROFILE [N]`: the N (25) heaviest allocation sites of a heap-sample.mjs profile, innermost frame first. */
const fs = require('node:fs');

const profile = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const sites = new Map();
let total = 0;
(function walk(node, stack) {
  const f = node.callFrame;
  const here = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-3).join('/')}:${f.lineNumber}`;
  const frames = [...stack, here];
  if (node.selfSize > 0) {
    total += node.selfSize;
    const key = frames.slice(-4).reverse().join(' < ');
    sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
  }
  for (const child of node.children) walk(child, frames);
})(profile.head, []);
console.log(`sampled ${(total / 2 ** 20).toFixed(1)} MiB`);
for (const [site, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3] ?? 25))) {
  console.log(`${(bytes / 2 ** 20).toFixed(2).padStart(8)} MiB  ${site}`);
}
