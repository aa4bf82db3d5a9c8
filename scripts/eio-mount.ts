/**
 * A real failing drive for tests and `npm run damage-compare`: a FUSE file system (Debian's
 * python3-fusepy, fuse3) that serves a folder read-only and answers EIO for chosen byte ranges of
 * chosen files, as a scratched disc does. It lives in scripts/ because tools may not import from
 * test/; test/helpers/eio-mount.ts re-exports it.
 * Reads go through with direct_io, so the kernel asks for exactly what xtar reads (no page cache
 * hiding or widening a failure). Needs /dev/fuse and root; where FUSE cannot work, mounting fails
 * loudly — these tests are never skipped nor faked. The mount is waited for (bounded) in
 * /proc/self/mountinfo; close() unmounts (fusermount3 -u, else umount -l), waits (bounded) for the
 * file system to exit and kills it if it does not; a test process that dies unmounts it too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** Run a command to its end; its exit status (128 when a signal ended it). */
function run(cmd: string, args: readonly string[]): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ status: code ?? (signal ? 128 : 1) }));
  });
}

const FS_SCRIPT = `
import ctypes, errno, json, os, sys, time
from fusepy import FUSE, FuseOSError, Operations
src, mnt, spec, log, hang = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], json.loads(sys.argv[5])
class EioFS(Operations):
    def _p(self, path): return os.path.join(src, path.lstrip('/'))
    def getattr(self, path, fh=None):
        st = os.lstat(self._p(path))
        d = {k: getattr(st, k) for k in ('st_mode', 'st_nlink', 'st_size', 'st_uid', 'st_gid', 'st_atime', 'st_mtime', 'st_ctime')}
        d['st_mode'] &= ~0o222
        return d
    def readdir(self, path, fh): return ['.', '..'] + os.listdir(self._p(path))
    def readlink(self, path): return os.readlink(self._p(path))
    def open(self, path, flags):
        if flags & (os.O_WRONLY | os.O_RDWR): raise FuseOSError(errno.EROFS)
        return os.open(self._p(path), os.O_RDONLY)
    def read(self, path, size, offset, fh):
        for a, b in hang.get(path.lstrip('/'), []):
            while offset < b and a < offset + size and os.path.exists(log + '.hang'):
                time.sleep(0.02)
        for a, b in spec.get(path.lstrip('/'), []):
            if offset < b and a < offset + size:
                with open(log, 'a') as f: f.write('%s %d %d\\n' % (path, offset, size))
                raise FuseOSError(errno.EIO)
        return os.pread(fh, size, offset)
    def release(self, path, fh):
        os.close(fh)
        return 0
# Should the test process die without unmounting, SIGTERM reaches this one (PR_SET_PDEATHSIG), and
# libfuse unmounts on SIGTERM: no mount outlives its test run.
ctypes.CDLL(None, use_errno=True).prctl(1, 15)
FUSE(EioFS(), mnt, foreground=True, ro=True, direct_io=True, nothreads=True)
`;

/** Byte ranges [start, end) that fail, by path relative to the served folder. */
export type BadRanges = Record<string, readonly (readonly [number, number])[]>;

export interface EioMount {
  /** Where the folder is served. */
  readonly dir: string;
  /** The reads answered EIO, as the file system logged them: "PATH OFFSET SIZE" each. */
  failedReads(): Promise<string[]>;
  /** Unmount and stop the file system; safe to call twice. */
  close(): Promise<void>;
}

const MOUNT_WAIT_MS = 10_000;
const EXIT_WAIT_MS = 5_000;

function mounted(dir: string, mountinfo: string): boolean {
  return mountinfo.split('\n').some((l) => l.split(' ')[4] === dir);
}

async function isMounted(dir: string): Promise<boolean> {
  return mounted(dir, await readFile('/proc/self/mountinfo', 'utf8'));
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/**
 * Serve `source` at `mountpoint` (an empty folder, absolute path), failing `bad`. Resolves once the
 * mount is live. Reads touching `hang` wait for as long as the file LOG.hang exists (a drive stuck on
 * a sector: a test can interrupt the reader there, then remove the file to let the mount go).
 */
export async function mountEio(source: string, mountpoint: string, bad: BadRanges, log: string, hang: BadRanges = {}): Promise<EioMount> {
  const child = spawn('/usr/bin/python3', ['-c', FS_SCRIPT, source, mountpoint, JSON.stringify(bad), log, JSON.stringify(hang)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let closed = false;
  const m: EioMount = {
    dir: mountpoint,
    async failedReads() {
      const text = await readFile(log, 'utf8').catch(() => '');
      return text.split('\n').filter((l) => l !== '');
    },
    async close() {
      if (closed) return;
      closed = true;
      if (await isMounted(mountpoint)) {
        const u = await run('fusermount3', ['-u', mountpoint]);
        if (u.status !== 0 && (await isMounted(mountpoint))) await run('umount', ['-l', mountpoint]);
      }
      if (!(await exited(child, EXIT_WAIT_MS))) {
        child.kill('SIGKILL');
        await exited(child, EXIT_WAIT_MS);
      }
      if (await isMounted(mountpoint)) throw new Error(`${mountpoint} is still mounted`);
    },
  };
  const deadline = Date.now() + MOUNT_WAIT_MS;
  for (;;) {
    if (await isMounted(mountpoint)) return m;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await m.close().catch(() => undefined);
      throw new Error(`the EIO file system did not mount at ${mountpoint} (needs /dev/fuse, root, fuse3 and python3-fusepy): ${stderr.trim() || 'no message'}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
