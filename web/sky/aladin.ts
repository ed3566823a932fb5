/**
 * The part of Aladin Lite v3's API the sky view uses (the `aladin-lite` package has no type
 * declarations). The library is not bundled into the page's script: the node serves its
 * dist file as it is (/web/assets/aladin-lite.<hash>.js, see src/web/bundle.ts) and the page
 * imports it by URL, so it stays one separate, unchanged file of its GPL-3 package.
 */
export interface Shape {
  readonly __shape?: never;
}

export interface GraphicOverlay {
  add(shape: Shape): void;
  removeAll(): void;
  show(): void;
  hide(): void;
}

export interface Catalog {
  addSources(sources: Shape[]): void;
  removeAll(): void;
  show(): void;
  hide(): void;
}

export interface Moc {
  show(): void;
  hide(): void;
}

export interface ClickEvent {
  readonly ra: number;
  readonly dec: number;
  readonly isDragging?: boolean;
}

export interface Aladin {
  gotoRaDec(ra: number, dec: number): void;
  setFoV(fovDeg: number): void;
  addMOC(moc: Moc): void;
  addOverlay(overlay: GraphicOverlay): void;
  addCatalog(catalog: Catalog): void;
  on(event: 'click', handler: (e: ClickEvent) => void): void;
  world2pix(ra: number, dec: number): [number, number] | undefined;
}

export interface AladinModule {
  readonly init: Promise<void>;
  aladin(div: HTMLElement, options: Record<string, unknown>): Aladin;
  MOCFromJSON(json: unknown, options: Record<string, unknown>): Moc;
  graphicOverlay(options: Record<string, unknown>): GraphicOverlay;
  polygon(vertices: Array<[number, number]>, options?: Record<string, unknown>): Shape;
  circle(ra: number, dec: number, radius: number, options?: Record<string, unknown>): Shape;
  catalog(options: Record<string, unknown>): Catalog;
  source(ra: number, dec: number, data?: Record<string, unknown>): Shape;
}

/** Loads Aladin Lite from the node and waits for its WebAssembly core. */
export async function loadAladin(url: string): Promise<AladinModule> {
  const mod = (await import(/* @vite-ignore */ url)) as { default: AladinModule };
  await mod.default.init;
  return mod.default;
}
