// The bees demo's training recipe (issue #20, bench/train-od --part sweep): the generated bees
// span 12-42 % of a 320 px image, so at 192 px the smallest is still ~23 px, and an epoch costs
// about a third of a 320 px one. Measured: 192 px x 10 epochs ends at validation mAP 0.934 (0.75
// after epoch 9, rising steeply), short of 0.95; hence 12 epochs (see docs/readme/demo.md for
// the measurement still to confirm). Kept apart from demo.ts so the CLI's option defaults do not
// load the AWS SDK clients.

/** Training and serving input size of `apiary demo bees` (the images are generated at 320 px). */
export const DEMO_IMAGE_SHAPE = 192;
/** Epochs of `apiary demo bees`: warm-up over the first tenth, then cosine decay to the end. */
export const DEMO_EPOCHS = 12;
/** Mini-batch size of `apiary demo bees`. */
export const DEMO_BATCH = 16;
/** Peak learning rate of `apiary demo bees`: from scratch SSD needs more than the tutorial's 0.001. */
export const DEMO_LEARNING_RATE = 0.02;
