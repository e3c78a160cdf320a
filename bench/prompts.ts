/** The story openings the inference benches generate from (the built-in model's domain). */
export const PROMPTS = [
  'Once upon a time, there was a little girl named Lily.',
  'The dragon looked at the castle and',
  'Tom and his dog went to the park. They',
  'In the morning the sun came up over the hills, and the birds',
  'She opened the old box and found',
  'The wind was cold.',
  'Ben wanted to build a boat, so he asked his dad',
  'Far away, in a forest full of tall trees, lived a small fox who',
];
