import * as Y from 'yjs';
import { newPanel, panelsOf, readPanel, SHOT_TYPES, type PanelFields, type ShotType } from '@ensemble/shared';

export function newPanelId(): string {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  return `p_${Array.from(bytes, (b) => b.toString(36).padStart(2, '0')).join('').slice(0, 14)}`;
}

export function listPanels(doc: Y.Doc): PanelFields[] {
  return panelsOf(doc).toArray().map(readPanel);
}

export function indexOfPanel(doc: Y.Doc, panelId: string): number {
  return panelsOf(doc).toArray().findIndex((p) => p.get('id') === panelId);
}

export function addPanel(doc: Y.Doc, fields: Partial<PanelFields> = {}, at?: number): string {
  const panels = panelsOf(doc);
  const id = fields.id ?? newPanelId();
  const panel = newPanel({ id, caption: '', shotType: 'medium', durationSec: 3, imageId: '', ...fields });
  const index = at === undefined ? panels.length : Math.max(0, Math.min(panels.length, at));
  panels.insert(index, [panel]);
  return id;
}

export function deletePanel(doc: Y.Doc, panelId: string): boolean {
  const index = indexOfPanel(doc, panelId);
  if (index < 0) return false;
  panelsOf(doc).delete(index, 1);
  return true;
}

/**
 * Moves a panel to `to` (index in the final order). Yjs 13 has no move: the panel is re-created
 * with its current fields in one transaction, so every client sees a single change.
 */
export function movePanel(doc: Y.Doc, panelId: string, to: number): boolean {
  const panels = panelsOf(doc);
  const from = indexOfPanel(doc, panelId);
  if (from < 0) return false;
  const target = Math.max(0, Math.min(panels.length - 1, to));
  if (target === from) return false;
  doc.transact(() => {
    const fields = readPanel(panels.get(from));
    panels.delete(from, 1);
    panels.insert(target, [newPanel(fields)]);
  });
  return true;
}

export function updatePanel(doc: Y.Doc, panelId: string, fields: Partial<Omit<PanelFields, 'id'>>): boolean {
  const index = indexOfPanel(doc, panelId);
  if (index < 0) return false;
  const panel = panelsOf(doc).get(index);
  doc.transact(() => {
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined && panel.get(key) !== value) panel.set(key, value);
    }
  });
  return true;
}

export function isShotType(value: string): value is ShotType {
  return (SHOT_TYPES as readonly string[]).includes(value);
}

export function clampDuration(value: number): number {
  if (!Number.isFinite(value)) return 3;
  return Math.round(Math.max(0.5, Math.min(120, value)) * 10) / 10;
}

export const SHOT_LABELS: Record<ShotType, string> = {
  wide: 'Wide',
  medium: 'Medium',
  'close-up': 'Close-up',
  'extreme-close-up': 'Extreme close-up',
  'over-the-shoulder': 'Over the shoulder',
  insert: 'Insert',
};
