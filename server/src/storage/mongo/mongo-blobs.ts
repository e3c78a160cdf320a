import { randomUUID } from 'node:crypto';
import { Binary, type Collection } from 'mongodb';

/** MongoDB caps a document at 16 MB; parts stay well below it, leaving room for the envelope. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

/** Where a large binary lives: `parts` documents `<id>:0` … `<id>:<parts-1>` in the blobs collection. */
export interface BlobRef {
  id: string;
  parts: number;
  length: number;
}

export interface BlobPartDocument {
  _id: string;
  blobId: string;
  part: number;
  data: Binary;
}

/** A blob part is missing: it was deleted by a concurrent compaction, or never fully written. */
export class MissingBlobError extends Error {
  override readonly name = 'MissingBlobError';
}

export function toBinary(bytes: Uint8Array): Binary {
  return new Binary(bytes);
}

/** Plain Uint8Array view of a BSON Binary (no copy), so callers never depend on Buffer. */
export function fromBinary(binary: Binary): Uint8Array {
  const bytes = binary.buffer.subarray(0, binary.position);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Large binaries split across documents of at most `chunkBytes` each. Writers store the parts
 * first and publish the BlobRef afterwards (in the owning document), so a reader never sees a
 * reference to a blob that is still being written. A crash in between leaves unreferenced parts
 * behind: wasted space, never wrong data.
 */
export class MongoBlobs {
  constructor(
    private readonly collection: Collection<BlobPartDocument>,
    readonly chunkBytes: number,
  ) {}

  async write(bytes: Uint8Array): Promise<BlobRef> {
    const id = randomUUID();
    const parts = Math.max(1, Math.ceil(bytes.byteLength / this.chunkBytes));
    // One part per insert: a batch of several 8 MB parts would exceed the 48 MB message limit.
    for (let part = 0; part < parts; part++) {
      const slice = bytes.subarray(part * this.chunkBytes, (part + 1) * this.chunkBytes);
      await this.collection.insertOne({ _id: partId(id, part), blobId: id, part, data: toBinary(slice) });
    }
    return { id, parts, length: bytes.byteLength };
  }

  async read(ref: BlobRef): Promise<Uint8Array> {
    const ids = Array.from({ length: ref.parts }, (_, part) => partId(ref.id, part));
    const docs = await this.collection.find({ _id: { $in: ids } }).toArray();
    const byPart = new Map(docs.map((doc) => [doc.part, doc]));
    if (ref.parts === 1) {
      const only = byPart.get(0);
      if (!only) throw new MissingBlobError(`blob ${ref.id} is missing`);
      return checkLength(ref, fromBinary(only.data));
    }
    const out = new Uint8Array(ref.length);
    let offset = 0;
    for (let part = 0; part < ref.parts; part++) {
      const doc = byPart.get(part);
      if (!doc) throw new MissingBlobError(`blob ${ref.id} is missing part ${part} of ${ref.parts}`);
      const bytes = fromBinary(doc.data);
      if (offset + bytes.byteLength > ref.length) throw new MissingBlobError(`blob ${ref.id} is longer than its ${ref.length} bytes`);
      out.set(bytes, offset);
      offset += bytes.byteLength;
    }
    if (offset !== ref.length) throw new MissingBlobError(`blob ${ref.id} has ${offset} bytes, expected ${ref.length}`);
    return out;
  }

  async delete(refs: BlobRef[]): Promise<void> {
    if (refs.length === 0) return;
    await this.collection.deleteMany({ blobId: { $in: refs.map((ref) => ref.id) } });
  }
}

function partId(blobId: string, part: number): string {
  return `${blobId}:${part}`;
}

function checkLength(ref: BlobRef, bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength !== ref.length) {
    throw new MissingBlobError(`blob ${ref.id} has ${bytes.byteLength} bytes, expected ${ref.length}`);
  }
  return bytes;
}
