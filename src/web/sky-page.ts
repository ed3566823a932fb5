import { escapeHtml, HEADER_STYLE, PAGE_STYLE, pageHeader } from './html.js';

/** What the sky view needs to know of this node, written into the page as JSON. */
export interface SkyPageConfig {
  readonly nodeName: string;
  /** The hashed URL of Aladin Lite's file (src/web/bundle.ts), relative to /web/. */
  readonly aladinUrl: string;
  /** The node's HiPS, relative to the node's root (src/hips). */
  readonly hipsPath: string;
  /** The catalogue of /moc/sources, whose positions show by default. */
  readonly catalogueTable: string;
  /** MAXREC of the footprint and position queries (at most the node's hard limit). */
  readonly footprintsMax: number;
  readonly positionsMax: number;
}

/**
 * The sky view (issue 18, item 3): Aladin Lite with the node's HiPS, the MOCs of the
 * catalogue and of the products, ObsCore footprints and a query's positions. The layer
 * switches, the query form and the list of footprints (the keyboard's way to a product)
 * are in the HTML; web/sky/main.ts draws the map.
 */
export function skyPage(config: SkyPageConfig, script: string): string {
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  const name = escapeHtml(config.nodeName);
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sky view · ${name}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>${PAGE_STYLE}${SKY_STYLE}${HEADER_STYLE}</style>
<script type="application/json" id="vonode-config">${json}</script>
<script type="module" src="${escapeHtml(script)}"></script>
</head>
<body>
<a class="skip" href="#layers">Skip to the layers</a>
${pageHeader(config.nodeName, 'Sky view', 'sky')}
<main class="sky-layout">
<section id="map-region" aria-labelledby="map-h">
  <h2 id="map-h" class="sr-only">Map</h2>
  <p class="hint" id="map-hint">Drag to pan, scroll or use the + and − buttons to zoom; click inside a footprint to open its product. Everything drawn is also listed beside the map, with links.</p>
  <div id="aladin" aria-label="Sky map (Aladin Lite): the node's images, the coverage of the catalogue and of the products, footprints and positions" aria-describedby="map-hint" role="region"></div>
  <div id="sky-status" role="status" aria-live="polite"><p>Loading…</p></div>
  <div id="sky-error" role="alert" hidden></div>
</section>
<aside class="side" aria-label="Layers and query">
  <section id="layers" aria-labelledby="layers-h" tabindex="-1">
    <h2 id="layers-h">Layers</h2>
    <p class="hint">The node's HiPS of its public images is the background.</p>
    <ul class="layers">
      <li><label><input type="checkbox" id="layer-moc-catalogue" checked disabled> <span class="swatch" style="background:#ff3df5"></span> MOC of the catalogue <code>${escapeHtml(config.catalogueTable)}</code></label></li>
      <li><label><input type="checkbox" id="layer-moc-products" checked disabled> <span class="swatch" style="background:#39ff14"></span> MOC of the products</label></li>
      <li><label><input type="checkbox" id="layer-footprints" checked disabled> <span class="swatch" style="background:#ffd400"></span> Product footprints (ObsCore <code>s_region</code>)</label></li>
      <li><label><input type="checkbox" id="layer-positions" checked disabled> <span class="swatch" style="background:#00e5ff"></span> Positions of the query</label></li>
    </ul>
  </section>
  <section aria-labelledby="query-h">
    <h2 id="query-h">Query</h2>
    <form id="sky-form">
      <label for="sky-query">ADQL query: its rows' positions (RA/Dec) are drawn, and its footprints if it selects <code>s_region</code> and <code>obs_publisher_did</code></label>
      <textarea id="sky-query" rows="5" spellcheck="false"></textarea>
      <button type="submit">Show</button> <a href="query">Edit in the query page</a>
    </form>
    <div id="query-status" aria-live="polite"></div>
  </section>
  <section aria-labelledby="fp-h">
    <h2 id="fp-h">Footprints</h2>
    <div id="footprint-list" aria-live="polite"><p>Loading…</p></div>
  </section>
</aside>
</main>
<noscript><p class="error">The sky view needs JavaScript. The HiPS itself is at <a href="../${escapeHtml(config.hipsPath)}">/${escapeHtml(config.hipsPath)}</a> for any HiPS client.</p></noscript>
</body></html>
`;
}

const SKY_STYLE = `
.sky-layout{display:grid;grid-template-columns:1fr minmax(16rem,24rem);gap:1.2rem;align-items:start}
@media (max-width:900px){.sky-layout{grid-template-columns:1fr}}
#aladin{width:100%;height:min(70vh,42rem);min-height:22rem;border:1px solid #767676}
.side textarea{width:100%;box-sizing:border-box;font-family:ui-monospace,monospace;font-size:.9rem}
.layers{list-style:none;padding:0}.layers li{margin:.3rem 0}
.swatch{display:inline-block;width:.9rem;height:.9rem;border:1px solid #333;vertical-align:middle}
#footprint-list ul{max-height:20rem;overflow:auto;padding-left:1.2rem}
.hint{color:#3d3d3d;font-size:.9em}
.error,[role=alert]:not([hidden]){border-left:4px solid #b00020;background:#fdecee;color:#5f0010;padding:.5rem .8rem;margin:.5rem 0;white-space:pre-wrap}
.notice{border-left:4px solid #8a5a00;background:#fff5dc;color:#3d2800;padding:.5rem .8rem;margin:.5rem 0}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.3rem}
`;
