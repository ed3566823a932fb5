import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The MIVOT 1.0 schema, from github.com/ivoa-std/ModelInstanceInVot, schema/xsd/mivot-v1.0.xsd
// at commit 5cdcf7299f7f85b4580766363af527bd595aae58 (2023-06-08, the REC), unchanged.
export const MIVOT_XSD = fileURLToPath(new URL('../fixtures/xsd/mivot-v1.0.xsd', import.meta.url));
export const MIVOT_CHECK = fileURLToPath(new URL('./mivot-check.py', import.meta.url));

export interface MivotCheck {
  blocks: number;
  xsd_errors?: string[];
  roles?: Record<string, string>;
  epoch?: { representation: string; ref: string } | null;
  frame?: string;
  refPosition?: string;
  dangling?: string[];
  field_coosys?: Record<string, string>;
  coords?: Array<Record<string, number | string | number[]>>;
}

/** Runs the schema check and read-back (Debian's python3, astropy, xmlschema) on a VOTable file. */
export function mivotCheck(file: string): Promise<MivotCheck> {
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/python3',
      [MIVOT_CHECK, file, MIVOT_XSD],
      { maxBuffer: 64 << 20 },
      (err, out, errText) => {
        if (err) reject(new Error(`${err.message}\n${errText}`));
        else resolve(JSON.parse(out) as MivotCheck);
      },
    );
  });
}

/** votlint's verdict: E and W counts with the messages. */
export function votlint(file: string): Promise<{ errors: string[]; warnings: string[] }> {
  return new Promise((resolve, reject) => {
    execFile('stilts', ['votlint', `votable=${file}`], (err, out, errText) => {
      if (err) return reject(err);
      const lines = `${out}${errText}`.split('\n');
      resolve({
        errors: lines.filter((l) => l.startsWith('ERROR')),
        warnings: lines.filter((l) => l.startsWith('WARNING')),
      });
    });
  });
}
