/** The built-in object-detection algorithm's image, as SageMaker names it (Apiary maps any `…/object-detection:*`). */
export const OBJECT_DETECTION_IMAGE =
  '811284229777.dkr.ecr.us-east-1.amazonaws.com/object-detection:1';
/** A placeholder role: Apiary records RoleArn (SageMaker requires one) but does not use IAM. */
export const DEFAULT_ROLE_ARN = 'arn:aws:iam::000000000000:role/ApiaryExecutionRole';
/** ml.* instance types Apiary maps onto local resources (a subset of SageMaker's enum). */
export const TRAINING_INSTANCE_TYPES = [
  'ml.m5.large',
  'ml.m5.xlarge',
  'ml.m5.2xlarge',
  'ml.c5.xlarge',
  'ml.c5.2xlarge',
  'ml.p3.2xlarge',
  'ml.g4dn.xlarge',
];
export const HOSTING_INSTANCE_TYPES = [
  'ml.t2.medium',
  'ml.m5.large',
  'ml.m5.xlarge',
  'ml.c5.large',
  'ml.c5.xlarge',
  'ml.g4dn.xlarge',
];
