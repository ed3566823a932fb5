/**
 * Renders deploy/helm/vonode without Helm (not installable here): the templates keep to the
 * forms documented in the chart's README, which this file substitutes, and the result is
 * checked against what the node really reads, serves and runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { AUTH_VARIABLES } from '../../src/auth/index.js';
import { CONFIG_VARIABLES } from '../../src/config/index.js';
import { LIVENESS_PATH, READINESS_PATH } from '../../src/vosi/probes.js';

const root = join(import.meta.dirname, '..', '..');
const chart = join(root, 'deploy', 'helm', 'vonode');

function lookup(values: unknown, path: string): unknown {
  let v: unknown = values;
  for (const key of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[key];
  return v;
}

/** The subset of Go templates the chart may use; anything else fails the render. */
function render(text: string, values: Record<string, unknown>): string {
  const ifBlock = /\{\{-? if (not )?\.Values\.([\w.]+) -?\}\}\n?([\s\S]*?)\{\{-? end -?\}\}\n?/g;
  let out = text.replace(ifBlock, (_m, not: string | undefined, path: string, body: string) =>
    Boolean(lookup(values, path)) !== Boolean(not) ? body : '',
  );
  out = out.replace(/\{\{ \.Values\.([\w.]+) \}\}/g, (_m, path: string) => {
    const v = lookup(values, path);
    if (v === undefined) throw new Error(`.Values.${path} is not in values.yaml`);
    return String(v);
  });
  out = out.replaceAll('{{ .Release.Name }}', 'vo').replaceAll('{{ .Chart.Name }}', 'vonode');
  if (out.includes('{{'))
    throw new Error(`a template form the check does not know: ${out.match(/\{\{.*?\}\}/)?.[0]}`);
  return out;
}

const KNOWN_KINDS = new Map([
  ['Deployment', 'apps/v1'],
  ['Job', 'batch/v1'],
  ['Service', 'v1'],
  ['Secret', 'v1'],
  ['Ingress', 'networking.k8s.io/v1'],
]);

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes documents are walked freely; the assertions are the type check
type Doc = Record<string, any>;

function renderChart(overrides: Record<string, unknown> = {}): Doc[] {
  const values = { ...parseYaml(readFileSync(join(chart, 'values.yaml'), 'utf8')), ...overrides };
  const docs: Doc[] = [];
  for (const file of readdirSync(join(chart, 'templates')).filter((f) => f.endsWith('.yaml'))) {
    for (const d of parseAllDocuments(render(readFileSync(join(chart, 'templates', file), 'utf8'), values))) {
      expect(d.errors, file).toEqual([]);
      const js = d.toJS();
      if (js) docs.push(js);
    }
  }
  return docs;
}

const values = parseYaml(readFileSync(join(chart, 'values.yaml'), 'utf8'));
const docs = renderChart({ ingress: { ...values.ingress, enabled: true } });
const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
const deployment = byKind('Deployment')[0];
const pod = deployment.spec.template.spec;
const node = pod.containers[0];
const known = new Set([...CONFIG_VARIABLES, ...AUTH_VARIABLES].map((v) => v.name));

describe('the Helm chart (issue 23 item 1)', () => {
  it('declares a v2 chart and renders only known Kubernetes kinds', () => {
    expect(parseYaml(readFileSync(join(chart, 'Chart.yaml'), 'utf8'))).toMatchObject({
      apiVersion: 'v2',
      name: 'vonode',
    });
    expect(docs.map((d) => d.kind).sort()).toEqual(['Deployment', 'Ingress', 'Job', 'Secret', 'Service']);
    for (const d of docs) expect(d.apiVersion, d.kind).toBe(KNOWN_KINDS.get(d.kind));
  });

  it('leaves the Ingress out by default, and the Secret when an existing one is named', () => {
    expect(renderChart().map((d) => d.kind)).not.toContain('Ingress');
    const own = renderChart({ createSecret: false, secretName: 'mine' });
    expect(own.map((d) => d.kind)).not.toContain('Secret');
    for (const d of own.filter((x) => x.kind === 'Deployment' || x.kind === 'Job'))
      expect(d.spec.template.spec.containers[0].envFrom[0].secretRef.name).toBe('mine');
  });

  it('probes the paths the node serves', () => {
    expect(node.readinessProbe.httpGet.path).toBe(READINESS_PATH);
    expect(node.livenessProbe.httpGet.path).toBe(LIVENESS_PATH);
  });

  it('sets only settings the node knows, and the Secret carries DATABASE_URL and OIDC', () => {
    const names = [
      ...node.env.map((e: { name: string }) => e.name),
      ...Object.keys(byKind('Secret')[0].stringData),
    ];
    for (const n of names) expect(known.has(n), n).toBe(true);
    expect(names).toContain('DATABASE_URL');
    expect(names).toContain('VONODE_OIDC_ISSUER');
    expect(node.envFrom[0].secretRef.name).toBe(byKind('Secret')[0].metadata.name);
  });

  it('gives the drain time to finish and runs as non-root', () => {
    const drain = Number(node.env.find((e: { name: string }) => e.name === 'VONODE_DRAIN_SECONDS').value);
    expect(drain).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(drain);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
  });

  it('mounts one data folder, shared through a claim when there are several replicas', () => {
    expect(node.volumeMounts).toEqual([{ name: 'data', mountPath: '/var/lib/vonode' }]);
    // The image's data folder (Containerfile VONODE_DATA_DIR) is the one mounted.
    expect(readFileSync(join(root, 'Containerfile'), 'utf8')).toMatch(/VONODE_DATA_DIR=\/var\/lib\/vonode/);
    expect(pod.volumes).toEqual([{ name: 'data', emptyDir: {} }]);
    // Results written by one replica are read through another: without a shared claim, one replica.
    expect(deployment.spec.replicas).toBe(1);
    const shared = renderChart({ dataClaim: 'vonode-data', replicaCount: 3 }).find(
      (d) => d.kind === 'Deployment',
    )!;
    expect(shared.spec.replicas).toBe(3);
    expect(shared.spec.template.spec.volumes).toEqual([
      { name: 'data', persistentVolumeClaim: { claimName: 'vonode-data' } },
    ]);
  });

  it('migrates with a real vonode command in a pre-install/pre-upgrade hook', () => {
    const job = byKind('Job')[0];
    expect(job.metadata.annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const command = job.spec.template.spec.containers[0].args[0];
    const usage = readFileSync(join(root, 'src', 'cli', 'main.ts'), 'utf8');
    expect(usage).toContain(`case '${command}':`);
    expect(command).toBe('init-db');
    expect(usage).toContain(`case '${node.args[0]}':`);
  });
});
