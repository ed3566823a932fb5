/*
 * The Thrift compact protocol, as far as a Parquet writer needs it: page headers and the
 * footer's FileMetaData (apache/parquet-format, parquet.thrift). Fields are written in
 * increasing id order inside each struct, as the compact protocol's field deltas expect.
 */

const T_TRUE = 1;
const T_FALSE = 2;
const T_BYTE = 3;
const T_I32 = 5;
const T_I64 = 6;
const T_BINARY = 8;
const T_LIST = 9;
const T_STRUCT = 12;

export class ThriftWriter {
  private out: number[] = [];
  private last: number[] = [0];

  private varint(n: bigint): void {
    let v = n;
    while (v >= 0x80n) {
      this.out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.out.push(Number(v));
  }

  private zigzag(n: number | bigint): void {
    const v = BigInt(n);
    this.varint(v >= 0n ? v << 1n : (-v << 1n) - 1n);
  }

  private header(id: number, type: number): void {
    const last = this.last[this.last.length - 1];
    const delta = id - last;
    if (delta > 0 && delta <= 15) this.out.push((delta << 4) | type);
    else {
      this.out.push(type);
      this.zigzag(id);
    }
    this.last[this.last.length - 1] = id;
  }

  i32(id: number, v: number): this {
    this.header(id, T_I32);
    this.zigzag(v);
    return this;
  }

  i64(id: number, v: number | bigint): this {
    this.header(id, T_I64);
    this.zigzag(v);
    return this;
  }

  byte(id: number, v: number): this {
    this.header(id, T_BYTE);
    this.out.push(v & 0xff);
    return this;
  }

  bool(id: number, v: boolean): this {
    this.header(id, v ? T_TRUE : T_FALSE);
    return this;
  }

  string(id: number, s: string): this {
    this.header(id, T_BINARY);
    this.bytes(Buffer.from(s, 'utf8'));
    return this;
  }

  private bytes(b: Uint8Array): void {
    this.varint(BigInt(b.length));
    for (const x of b) this.out.push(x);
  }

  /** A struct field; `body` writes its fields. An empty body makes an empty struct (union arms). */
  struct(id: number, body: (w: this) => void = () => {}): this {
    this.header(id, T_STRUCT);
    this.last.push(0);
    body(this);
    this.out.push(0);
    this.last.pop();
    return this;
  }

  private listHeader(id: number, type: number, size: number): void {
    this.header(id, T_LIST);
    if (size < 15) this.out.push((size << 4) | type);
    else {
      this.out.push(0xf0 | type);
      this.varint(BigInt(size));
    }
  }

  listI32(id: number, items: readonly number[]): this {
    this.listHeader(id, T_I32, items.length);
    for (const v of items) this.zigzag(v);
    return this;
  }

  listString(id: number, items: readonly string[]): this {
    this.listHeader(id, T_BINARY, items.length);
    for (const s of items) this.bytes(Buffer.from(s, 'utf8'));
    return this;
  }

  listStruct<T>(id: number, items: readonly T[], body: (w: this, item: T) => void): this {
    this.listHeader(id, T_STRUCT, items.length);
    for (const item of items) {
      this.last.push(0);
      body(this, item);
      this.out.push(0);
      this.last.pop();
    }
    return this;
  }

  /** The top-level struct's bytes (with its stop byte). */
  end(): Buffer {
    this.out.push(0);
    return Buffer.from(this.out);
  }
}
