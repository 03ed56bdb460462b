// The bees demo's training recipe (issue #20). Measured end to end with `apiary demo bees` on two
// quiet cores (generate + upload + train + deploy + calibrate + draw), final validation mAP@0.5:
//   192 px x 12 epochs: 4.7 min, 0.929;  224 px x 10: 4.0 min, 0.943;  256 px x 10: 4.4 min, 0.939
//   (320 px x 12, the old default: ~12 min, 0.999). 224 x 10 is the fastest and the best of the
// short recipes; none reached the 0.95 within 6 minutes (docs/readme/demo.md).
// Kept apart from demo.ts so the CLI's option defaults do not load the AWS SDK clients.

/** Training and serving input size of `apiary demo bees` (the images are generated at 320 px). */
export const DEMO_IMAGE_SHAPE = 224;
/** Epochs of `apiary demo bees`: warm-up over the first tenth, then cosine decay to the end. */
export const DEMO_EPOCHS = 10;
/** Mini-batch size of `apiary demo bees`. */
export const DEMO_BATCH = 16;
/** Peak learning rate of `apiary demo bees`: from scratch SSD needs more than the tutorial's 0.001. */
export const DEMO_LEARNING_RATE = 0.02;
