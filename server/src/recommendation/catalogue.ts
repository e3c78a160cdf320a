/**
 * Craft moves the "what next" panel offers. `description` is what gets embedded and compared with
 * the text around the cursor; `instruction` is sent with a proposal request when clicked.
 */
export interface CraftMove {
  id: string;
  title: string;
  instruction: string;
  description: string;
  /** Prior usefulness when there is no context (e.g. an empty page). */
  prior: number;
}

export const CRAFT_MOVES: readonly CraftMove[] = [
  { id: 'move:conflict', title: 'Introduce a conflict', instruction: 'Introduce a conflict that puts the main character under pressure.', description: 'argument fight quarrel enemy threat danger struggle problem obstacle opposes angry rival', prior: 0.9 },
  { id: 'move:setting', title: 'Describe the setting', instruction: 'Describe the place: what it looks, sounds and smells like.', description: 'place room street forest city house sky weather light sound smell landscape room walls trees', prior: 1 },
  { id: 'move:secret', title: 'Give a character a secret', instruction: 'Reveal that one character is hiding a secret.', description: 'secret hidden lie truth mystery whisper confess hide know never told', prior: 0.7 },
  { id: 'move:cut', title: 'Cut to another scene', instruction: 'Cut to a different scene with other characters elsewhere.', description: 'meanwhile elsewhere later another place scene change travel next morning', prior: 0.6 },
  { id: 'move:dialogue', title: 'Add a dialogue', instruction: 'Continue with a short exchange of dialogue between two characters.', description: 'said asked replied talk voice conversation question answer "', prior: 0.8 },
  { id: 'move:senses', title: 'Show a feeling through the senses', instruction: 'Show what the character feels through a physical sensation instead of naming the emotion.', description: 'felt heart cold warm trembling tears breath fear joy sad shiver', prior: 0.6 },
  { id: 'move:twist', title: 'Add a twist', instruction: 'Add an unexpected twist that changes what the reader believed.', description: 'suddenly surprise unexpected but then realised turned out strange shock', prior: 0.7 },
  { id: 'move:newcharacter', title: 'Bring in a new character', instruction: 'Bring a new character into the scene.', description: 'stranger man woman girl boy arrived door knock visitor friend someone new', prior: 0.7 },
  { id: 'move:flashback', title: 'Flash back to the past', instruction: 'Flash back to a memory from the character\'s past that explains the present.', description: 'remembered long ago years before childhood memory once when she was young', prior: 0.5 },
  { id: 'move:stakes', title: 'Raise the stakes', instruction: 'Raise the stakes: show what the character will lose if they fail.', description: 'lose everything risk danger must before too late family life price fail', prior: 0.6 },
  { id: 'move:slow', title: 'Slow down the moment', instruction: 'Slow down and describe this moment in close detail.', description: 'moment slowly looked watched silence still quiet waited detail eyes hands', prior: 0.5 },
  { id: 'move:goal', title: 'Make the goal clear', instruction: 'Make clear what the main character wants and why.', description: 'wanted wish hope need goal dream decided plan determined must find', prior: 0.6 },
  { id: 'move:humour', title: 'Lighten the mood', instruction: 'Add a light or funny moment to ease the tension.', description: 'laughed smiled joke funny silly giggle grin happy play', prior: 0.5 },
  { id: 'move:ending', title: 'Close the scene', instruction: 'Bring the scene to a close with a memorable final line.', description: 'finally end last home night sleep goodbye over at last', prior: 0.5 },
];

export function craftMove(id: string): CraftMove | undefined {
  return CRAFT_MOVES.find((m) => m.id === id);
}
