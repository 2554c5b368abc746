/** Ports in tests: a free one for a process that needs one up front, and those a process listens on. */
import net from 'node:net';

/** A port nothing listens on right now (the OS picks it; it is released before returning). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `count` consecutive ports nothing listens on right now (for a port + shard id per shard); at most 20 tries. */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await freePort();
    if (first + count - 1 > 65_535) continue;
    const servers: net.Server[] = [];
    try {
      for (let i = 1; i < count; i++) {
        const server = net.createServer();
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(first + i, '127.0.0.1', resolve);
        });
        servers.push(server);
      }
      return first;
    } catch {
      // One of the next ports is taken: try another run.
    } finally {
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    }
  }
  throw new Error(`no run of ${count} free ports found in 20 tries`);
}

/**
 * TCP ports a process listens on, from Linux's /proc (its socket inodes matched against the
 * listening sockets of /proc/net/tcp{,6}); null elsewhere.
 */
export async function listeningPorts(pid: number): Promise<number[] | null> {
  if (process.platform !== 'linux') return null;
  const { readdir, readlink, readFile } = await import('node:fs/promises');
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode) inodes.add(inode);
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols: sl, local_address, rem_address, st, …, inode at 9; st 0A is LISTEN.
      if (cols[3] === '0A' && inodes.has(cols[9] ?? '')) ports.push(parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}
