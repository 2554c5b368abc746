/**
 * Preload for looking at what the bot allocates that lives long enough to need a full
 * collection (the garbage that raises the peak RSS):
 *
 *   BOT_NODE_OPTIONS="--import $PWD/bench/heap-sample.mjs" npm run bench -- --sizes=4096 --settings=defaults
 *
 * Writes V8's sampling heap profile (objects collected by major GCs included, by minor GCs
 * not) to $TMPDIR/dfs-heap-sample-<pid>.json every second; `node bench/heap-top.cjs FILE`
 * lists the top allocation sites. The inspector itself allocates: ignore its own frames.
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';

const out = path.join(os.tmpdir(), `dfs-heap-sample-${process.pid}.json`);
const session = new inspector.Session();
session.connect();
session.post('HeapProfiler.enable');
session.post('HeapProfiler.startSampling', {
  samplingInterval: 16384,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: false,
});
process.stderr.write(`heap samples: ${out}\n`);
setInterval(() => {
  session.post('HeapProfiler.getSamplingProfile', (error, result) => {
    if (!error) fs.writeFileSync(out, JSON.stringify(result.profile));
  });
}, 1000).unref();
