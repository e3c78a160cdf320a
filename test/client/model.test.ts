import { describe, expect, it } from 'vitest';
import { BUILT_IN_TEXT_MODEL } from '../../shared/src/index';
import { agentModel, describeModel } from '../../client/src/lib/model';
import { presenceList } from '../../client/src/lib/presence';

describe('the model serving the room', () => {
  it("is read from the AI agent's presence", () => {
    const states = new Map<number, Record<string, unknown>>([
      [1, { user: { name: 'Me', color: '#123456', memberId: 'me' } }],
      [7, { user: { name: 'Ensemble AI', color: '#8b5cf6', agent: { state: 'idle', model: 'qwen2.5-0.5b-instruct' } } }],
    ]);
    expect(agentModel(presenceList(states, 1))).toBe('qwen2.5-0.5b-instruct');
    expect(agentModel(presenceList(new Map([[1, { user: { name: 'Me', color: '#123456' } }]]), 1))).toBeUndefined();
  });

  it('says so when it is the small built-in demo model', () => {
    expect(describeModel(BUILT_IN_TEXT_MODEL)).toEqual({
      id: 'ensemble-story-lm',
      demo: true,
      text: 'Model: ensemble-story-lm — the small built-in demo model; expect rough, often odd text.',
    });
    expect(describeModel('qwen2.5-0.5b-instruct')).toEqual({ id: 'qwen2.5-0.5b-instruct', demo: false, text: 'Model: qwen2.5-0.5b-instruct' });
    expect(describeModel('none')).toMatchObject({ id: '', demo: false });
    expect(describeModel(undefined).text).toBe('No text model is serving this room.');
  });
});
