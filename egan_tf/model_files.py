"""The file names of the shipped networks in a models folder (no TensorFlow here)."""

CLASSIFIER_FILE = "classifier.keras"
GENERATOR_FILE = "generator.keras"
DISCRIMINATOR_FILE = "discriminator.keras"
ENCODER_FILE = "encoder.keras"
# Beyond the paper: E fine-tuned on blurred inputs, the classifier trained with
# blur augmentation, and the blur estimator.
ENCODER_BLUR_FILE = "encoder_blur.keras"
AUGMENTED_CLASSIFIER_FILE = "classifier_augment.keras"
BLUR_ESTIMATOR_FILE = "blur_estimator.keras"
# Issue 12: C's architecture trained on the blur mixture (Fourier or camera
# shake, with sensor noise).
MIXTURE_CLASSIFIER_FILE = "classifier_mixture.keras"
