// The bees demo's training recipe, chosen by measurement with bench/train-od (issue #20): the
// generated bees span 12-42 % of a 320 px image, so at 192 px the smallest is still ~23 px, and
// an epoch costs about a third of a 320 px one. Kept apart from demo.ts so the CLI's option
// defaults do not load the AWS SDK clients.

/** Training and serving input size of `apiary demo bees` (the images are generated at 320 px). */
export const DEMO_IMAGE_SHAPE = 192;
/** Epochs of `apiary demo bees`: warm-up over the first tenth, then cosine decay to the end. */
export const DEMO_EPOCHS = 10;
/** Mini-batch size of `apiary demo bees`. */
export const DEMO_BATCH = 16;
/** Peak learning rate of `apiary demo bees`: from scratch SSD needs more than the tutorial's 0.001. */
export const DEMO_LEARNING_RATE = 0.02;
