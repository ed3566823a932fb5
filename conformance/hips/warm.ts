// Renders the tiles of a view before a client asks: `tsx conformance/hips/warm.ts BASE NAME RA
// DEC ORDER...` fetches the PNG tile under (RA, DEC) at each ORDER (an order-3 tile averages its
// whole pyramid, which a loaded machine may take longer to make than a client waits).
import { nestedIndex } from '../../sky/index.js';
import { tilePath } from '../../src/hips/index.js';

const [base, name, ra, dec, ...orders] = process.argv.slice(2);
for (const o of orders) {
  const index = Number(nestedIndex(Number(o), Number(ra), Number(dec)));
  const res = await fetch(`${base}/hips/${name}/${tilePath(Number(o), index, 'png')}`);
  console.log(`warm ${name} ${tilePath(Number(o), index, 'png')}: ${res.status}`);
}
