import { spawn } from 'node:child_process';

/** Runs a Python script with the Debian interpreter (astropy, pyvo) and returns its stdout as JSON. */
export function python<T = unknown>(script: string, args: string[] = [], timeoutMs = 120000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', ['-c', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`python exited with ${code}: ${err.slice(-3000)}`));
      else {
        try {
          resolve(JSON.parse(out.trim().split('\n').pop() ?? 'null') as T);
        } catch {
          reject(new Error(`python printed no JSON: ${out.slice(-2000)} ${err.slice(-2000)}`));
        }
      }
    });
  });
}

/** Python prelude: a requests session that sends the node's public URLs to the loopback node. */
export const SESSION_PY = `
import sys, json, requests
_request = requests.Session.request
_route = {}
def _rewritten(self, method, url, *a, **k):
    # pyvo 1.2 makes fresh sessions for DataLink calls, so the rewrite is on the class
    if isinstance(url, str) and _route and url.startswith(_route['public']):
        url = _route['real'] + url[len(_route['public']):]
    return _request(self, method, url, *a, **k)
requests.Session.request = _rewritten
class Rewrite(requests.Session):
    def __init__(self, public, real, token=None):
        super().__init__()
        _route.update(public=public, real=real)
        if token: self.headers['Authorization'] = 'Bearer ' + token
`;
