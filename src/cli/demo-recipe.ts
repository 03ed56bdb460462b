// The bees demo's training recipe (issue #20). Measured end to end with `apiary demo bees` on two
// quiet cores (generate + upload + train + deploy + calibrate + draw), final validation mAP@0.5:
//   224 px x 10 epochs: 4.0 min, 0.943;  192 x 12: 4.7 min, 0.929;  256 x 10: 4.4 min, 0.939
//   (320 px x 12, the old default: ~12 min, 0.999). Each 224 px epoch more costs ~21.6 s (18.5 s
// training + 2.7 s validation, read off that run's job log). The longer cosine schedule is what
// clears 0.95: 224 x 12 reached 0.975 on the demo's bees and 0.985 on another seed's, 224 x 14
// 0.982 and 1.000 (docs/readme/demo.md). 12 is the cheapest of them: estimated 240 s + 2 x 21.6 s
// = 4.7 min end to end (14 epochs: 5.4 min, a flatter end of the curve).
// Kept apart from demo.ts so the CLI's option defaults do not load the AWS SDK clients.

/** Training and serving input size of `apiary demo bees` (the images are generated at 320 px). */
export const DEMO_IMAGE_SHAPE = 224;
/** Epochs of `apiary demo bees`: warm-up over the first tenth, then cosine decay to the end. */
export const DEMO_EPOCHS = 12;
/** Mini-batch size of `apiary demo bees`. */
export const DEMO_BATCH = 16;
/** Peak learning rate of `apiary demo bees`: from scratch SSD needs more than the tutorial's 0.001. */
export const DEMO_LEARNING_RATE = 0.02;

/**
 * The aws CLI commands that delete what `apiary demo bees` leaves serving without `--cleanup`: the
 * endpoint, its config and the model (all three carry the demo's name), as argv lists.
 */
export function demoCleanupCommands(name: string, endpointUrl: string): readonly string[][] {
  const at = ['--endpoint-url', endpointUrl];
  return [
    ['aws', 'sagemaker', 'delete-endpoint', '--endpoint-name', name, ...at],
    ['aws', 'sagemaker', 'delete-endpoint-config', '--endpoint-config-name', name, ...at],
    ['aws', 'sagemaker', 'delete-model', '--model-name', name, ...at],
  ];
}
