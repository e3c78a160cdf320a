import type { AiRecordStore, FeedbackRecord } from '../../server/src/storage/store';

/** Just the feedback half of an AiRecordStore, in memory, for unit tests of the recommender. */
export function feedbackStore(): Pick<AiRecordStore, 'addFeedback' | 'listFeedback'> {
  const feedback: FeedbackRecord[] = [];
  return {
    async addFeedback(f: FeedbackRecord) {
      feedback.push(f);
    },
    async listFeedback(roomId: string, memberId?: string) {
      return feedback.filter((f) => f.roomId === roomId && (memberId === undefined || f.memberId === memberId));
    },
  };
}

const SHORT = [
  'She ran.',
  'The door shut.',
  'He waited.',
  'Rain fell.',
  'They left at dawn.',
  'The dog barked twice.',
  'Nobody answered.',
  'She smiled.',
];
const LONG = [
  'The magnificent, shimmering, endlessly glorious sunset poured its luminous, golden, radiant light over the glistening, trembling, beautifully ancient hills, and everything seemed wonderfully, impossibly, breathtakingly alive.',
  'Slowly, gracefully, the mysterious, elegant stranger drifted across the glittering, enchanted ballroom, her luxurious, flowing, iridescent gown whispering dreamily against the polished, gleaming, marvellous floor.',
  'In the deepest, darkest, most unfathomably enormous forest, ancient, towering, majestic trees swayed rhythmically, their glorious, emerald, luminous leaves dancing joyously in the gentle, fragrant, intoxicating breeze.',
  'The exquisite, delicate, astonishingly beautiful melody floated effortlessly through the vast, echoing, magnificent cathedral, filling every shadowy, mysterious, reverent corner with luminous, heavenly, shimmering sound.',
  'Gloriously, the brilliant, dazzling, radiant morning unfolded across the endless, rolling, verdant meadows, where countless fragrant, colourful, delicate flowers trembled expectantly beneath the luminous sky.',
];

export const STYLE_TEXTS = { SHORT, LONG };
