import { escapeHtml, HEADER_STYLE, PAGE_STYLE, pageHeader } from './html.js';

function shell(nodeName: string, title: string, current: string, script: string, body: string): string {
  const name = escapeHtml(nodeName);
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)} · ${name}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>${PAGE_STYLE}${PRODUCTS_STYLE}${HEADER_STYLE}</style>
<script type="module" src="${escapeHtml(script)}"></script>
</head>
<body>
<a class="skip" href="#main">Skip to the content</a>
${pageHeader(nodeName, title, current)}
<main id="main" tabindex="-1">
${body}
</main>
<noscript><p class="error">This page needs JavaScript. The services work without it: <a href="../sia/query">/sia/query</a>, <a href="../tap">/tap</a>.</p></noscript>
</body></html>
`;
}

/**
 * The product search (issue 18, item 4): a form over ObsCore sent as an SIA 2.0 query
 * (POS, BAND, TIME, COLLECTION, DPTYPE), its results as a table linking each product's
 * page. web/products/main.ts sends it and fills the results.
 */
export function productsPage(nodeName: string, script: string): string {
  return shell(
    nodeName,
    'Products',
    'products',
    script,
    `<section aria-labelledby="search-h">
<h2 id="search-h">Search images and cubes</h2>
<form id="search-form" class="search" novalidate>
  <fieldset><legend>Position (ICRS, degrees)</legend>
    <label for="ra">RA</label> <input id="ra" name="ra" type="text" inputmode="decimal" size="10" aria-describedby="pos-hint">
    <label for="dec">Dec</label> <input id="dec" name="dec" type="text" inputmode="decimal" size="10" aria-describedby="pos-hint">
    <label for="radius">Radius</label> <input id="radius" name="radius" type="text" inputmode="decimal" size="6" value="1" aria-describedby="pos-hint">
    <p class="hint" id="pos-hint">Products whose footprint overlaps the circle. Leave RA and Dec empty to search the whole sky.</p>
  </fieldset>
  <fieldset><legend>Band</legend>
    <label for="freq-min">Lowest frequency (MHz)</label> <input id="freq-min" name="freq-min" type="text" inputmode="decimal" size="8">
    <label for="freq-max">Highest frequency (MHz)</label> <input id="freq-max" name="freq-max" type="text" inputmode="decimal" size="8">
  </fieldset>
  <fieldset><legend>Observed (UTC)</legend>
    <label for="time-min">First date</label> <input id="time-min" name="time-min" type="date">
    <label for="time-max">Last date</label> <input id="time-max" name="time-max" type="date">
  </fieldset>
  <fieldset><legend>Kind</legend>
    <label for="collection">Collection</label> <select id="collection" name="collection"><option value="">any</option></select>
    <label for="dptype">Data product type</label> <select id="dptype" name="dptype"><option value="">any</option><option value="image">image</option><option value="cube">cube</option></select>
  </fieldset>
  <p><button type="submit" id="search">Search</button> <a id="search-sky" href="sky">Show these footprints on the sky</a></p>
</form>
<div id="search-error" role="alert" hidden></div>
</section>
<section aria-labelledby="results-h">
<h2 id="results-h">Results</h2>
<div id="search-status" role="status" aria-live="polite"><p>Search to list products.</p></div>
<div id="search-results"></div>
</section>`,
  );
}

/**
 * A product's page (issue 18, item 4): its ObsCore record, its preview, its DataLink links
 * and a SODA cutout form (circle, polygon, band) that downloads the FITS. The product is
 * ?id=<obs_publisher_did>; web/product/main.ts reads everything from the node's services.
 */
export function productPage(nodeName: string, script: string): string {
  return shell(
    nodeName,
    'Product',
    'products',
    script,
    `<div id="product-error" role="alert" hidden></div>
<section aria-labelledby="product-h">
<h2 id="product-h">Loading the product…</h2>
<div class="product">
  <figure id="preview"><figcaption>Preview</figcaption><p>Loading the preview…</p></figure>
  <div id="product-meta" aria-live="polite"></div>
</div>
</section>
<section aria-labelledby="links-h">
<h2 id="links-h">Links (DataLink)</h2>
<div id="links" aria-live="polite"><p>Loading the links…</p></div>
</section>
<section aria-labelledby="cutout-h">
<h2 id="cutout-h">Cutout (SODA)</h2>
<form id="cutout-form" class="search" novalidate>
  <fieldset><legend>Region</legend>
    <label><input type="radio" name="shape" value="circle" checked> Circle</label>
    <label><input type="radio" name="shape" value="polygon"> Polygon</label>
    <div id="circle-fields">
      <label for="c-ra">RA (deg)</label> <input id="c-ra" type="text" inputmode="decimal" size="10">
      <label for="c-dec">Dec (deg)</label> <input id="c-dec" type="text" inputmode="decimal" size="10">
      <label for="c-radius">Radius (deg)</label> <input id="c-radius" type="text" inputmode="decimal" size="8">
    </div>
    <div id="polygon-fields" hidden>
      <label for="p-vertices">Vertices: RA Dec pairs in degrees, at least three</label>
      <textarea id="p-vertices" rows="3" cols="50" spellcheck="false" aria-describedby="p-hint"></textarea>
      <p class="hint" id="p-hint">For example <code>10.1 -30.2  10.3 -30.2  10.2 -30.0</code>.</p>
    </div>
  </fieldset>
  <fieldset id="band-fields"><legend>Band (cubes)</legend>
    <label for="b-min">Lowest frequency (MHz)</label> <input id="b-min" type="text" inputmode="decimal" size="10">
    <label for="b-max">Highest frequency (MHz)</label> <input id="b-max" type="text" inputmode="decimal" size="10">
  </fieldset>
  <p><button type="submit" id="cutout">Download the cutout (FITS)</button></p>
</form>
<div id="cutout-status" role="status" aria-live="polite"></div>
<div id="cutout-error" role="alert" hidden></div>
</section>`,
  );
}

const PRODUCTS_STYLE = `
.search fieldset{border:1px solid #bbb;margin:.5rem 0;padding:.4rem .8rem}
.search label{margin-right:.3rem}.search input,.search select{margin-right:.9rem}
.hint{color:#3d3d3d;font-size:.9em}
table.products td,table.products th{border:1px solid #ccc;padding:.25rem .5rem;font-size:.92rem}
table.products img{display:block;max-width:96px;max-height:96px}
.product{display:flex;gap:1.5rem;flex-wrap:wrap;align-items:flex-start}
#preview{margin:0}#preview img{max-width:min(512px,90vw);border:1px solid #999;background:#000}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}dl.meta dt{font-weight:600}dl.meta dd{margin:0}
.error,[role=alert]:not([hidden]){border-left:4px solid #b00020;background:#fdecee;color:#5f0010;padding:.5rem .8rem;margin:.5rem 0;white-space:pre-wrap}
.notice{border-left:4px solid #8a5a00;background:#fff5dc;color:#3d2800;padding:.5rem .8rem;margin:.5rem 0}
.ok{border-left:4px solid #1d6b32;background:#e9f6ec;padding:.4rem .8rem;margin:.5rem 0}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.3rem}
`;
