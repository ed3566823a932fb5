#!/usr/bin/python3
"""A stand-in OCI container runtime for conformance/attack.sh.

No container engine can run inside the CI sandbox, so the broker is pointed at this
script (VONODE_BROKER_CONTAINER_RUNTIME="<this> run --rm --network=none"). It parses its
arguments the way podman and docker do (options until the first operand, which is the
image; everything after the image is the container's command) and then:
  * records what a real engine would have been asked to do: the options, the mounts, the
    image, and whether an attacker's environment reached the host side of the engine;
  * flags every option that would give the container power over the host (privileged,
    host namespaces, added capabilities, devices, mounts of anything but the session's
    folders and the granted products);
  * emulates the few commands the attacks use, with the mount table applied as a real
    engine would: `cat PATH` prints a file reachable through a mount, `ln -s TARGET LINK`
    makes a symlink (the target is a literal string, as inside a real container).
Everything is appended as one JSON line to $VONODE_ATTACK_RUNTIME_LOG.
"""
import json
import os
import re
import sys

VALUE_OPTS = {
    '-v', '--volume', '--mount', '-e', '--env', '--env-file', '--entrypoint', '--network', '--net',
    '--name', '-u', '--user', '-w', '--workdir', '--security-opt', '--cap-add', '--cap-drop',
    '-m', '--memory', '--cpus', '--pids-limit', '--tmpfs', '--ulimit', '-l', '--label', '-h',
    '--hostname', '--device', '--userns', '--pull', '--platform', '--pid', '--ipc', '--uts',
    '--cgroupns', '--add-host', '--dns', '--log-driver', '--stop-timeout', '--timeout',
    '--cidfile', '--group-add', '--shm-size', '--memory-swap', '--cpu-shares', '--cpuset-cpus',
}
# Host paths a container may see: the broker's session folders and the products it grants.
ALLOWED = [p for p in os.environ.get('VONODE_ATTACK_ALLOWED_MOUNTS', '').split(':') if p]
# Names an attacker put in a job's `environment`: seeing them here means they reached the host.
INJECTED = ['LD_PRELOAD', 'VONODE_ATTACK_ENV']
IMAGE_REF = re.compile(r'^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$')


def main() -> int:
    args = sys.argv[1:]
    if args and args[0] == 'run':
        args = args[1:]
    opts = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == '--':
            i += 1
            break
        if not a.startswith('-') or a == '-':
            break
        if a.startswith('--') and '=' in a:
            name, val = a.split('=', 1)
            opts.append((name, val))
            i += 1
        elif a in VALUE_OPTS:
            opts.append((a, args[i + 1] if i + 1 < len(args) else ''))
            i += 2
        elif not a.startswith('--') and len(a) > 2 and a[:2] in VALUE_OPTS:
            opts.append((a[:2], a[2:].lstrip('=')))
            i += 1
        else:
            opts.append((a, None))
            i += 1
    image = args[i] if i < len(args) else None
    command = args[i + 1:]

    mounts = []  # (host source, container target)
    dangers = []
    for name, val in opts:
        if name in ('-v', '--volume') and val is not None:
            parts = val.split(':')
            if len(parts) >= 2:
                mounts.append((parts[0], parts[1]))
        elif name == '--mount' and val:
            kv = dict(p.split('=', 1) for p in val.split(',') if '=' in p)
            src = kv.get('source') or kv.get('src')
            dst = kv.get('target') or kv.get('destination') or kv.get('dst')
            if src and dst:
                mounts.append((src, dst))
        elif name == '--privileged' and val in (None, 'true', '1'):
            dangers.append('privileged')
        elif name in ('--network', '--net', '--pid', '--ipc', '--uts', '--userns', '--cgroupns') and val == 'host':
            dangers.append(f'{name}=host')
        elif name in ('--cap-add', '--device'):
            dangers.append(f'{name}={val}')
        elif name == '--security-opt' and val and ('unconfined' in val or 'disable' in val):
            dangers.append(f'{name}={val}')
    for src, dst in mounts:
        real = os.path.realpath(src)
        if not any(real == a or real.startswith(a.rstrip('/') + '/') for a in ALLOWED):
            dangers.append(f'host mount {src}:{dst}')
    host_env = {k: os.environ[k] for k in INJECTED if k in os.environ}
    if host_env:
        dangers.append('attacker environment on the host: ' + ','.join(sorted(host_env)))

    record = {
        'image': image, 'command': command, 'options': opts, 'mounts': mounts,
        'dangers': dangers, 'host_env': host_env, 'argv': sys.argv[1:],
    }
    log = os.environ.get('VONODE_ATTACK_RUNTIME_LOG')
    if log:
        with open(log, 'a') as f:
            f.write(json.dumps(record) + '\n')

    if image is None or not IMAGE_REF.match(image):
        print(f'Error: invalid reference format: {image!r}', file=sys.stderr)
        return 125

    def host_path(p: str):
        for src, dst in sorted(mounts, key=lambda m: -len(m[1])):
            d = dst.rstrip('/') or '/'
            if p == d:
                return src
            if p.startswith(d.rstrip('/') + '/'):
                return os.path.join(src, p[len(d.rstrip('/')) + 1:])
        return None

    if command[:1] == ['cat']:
        code = 0
        for p in command[1:]:
            hp = host_path(p)
            try:
                if hp is None:
                    raise FileNotFoundError(p)
                with open(hp, 'rb') as f:
                    sys.stdout.buffer.write(f.read())
            except OSError:
                print(f'cat: {p}: No such file or directory', file=sys.stderr)
                code = 1
        return code
    if command[:2] == ['ln', '-s'] and len(command) == 4:
        hp = host_path(command[3])
        if hp is None:
            print(f'ln: {command[3]}: not on a mounted volume', file=sys.stderr)
            return 1
        os.symlink(command[2], hp)
        return 0
    out = host_path('/output')
    if out:
        with open(os.path.join(out, 'ran.txt'), 'w') as f:
            f.write('ran\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
