import pytest

from apiary_od.hyperparams import HyperparameterError, parse_hyperparameters

BASE = {"num_classes": "1", "num_training_samples": "400"}


def test_defaults_are_sagemakers():
    hp = parse_hyperparameters(BASE)
    assert (hp.base_network, hp.use_pretrained_model, hp.epochs, hp.learning_rate) == ("vgg-16", 1, 30, 0.001)
    assert (hp.mini_batch_size, hp.optimizer, hp.momentum, hp.weight_decay) == (32, "sgd", 0.9, 0.0005)
    assert (hp.image_shape, hp.label_width, hp.nms_threshold, hp.overlap_threshold) == (300, 350, 0.45, 0.5)
    assert (hp.lr_scheduler_step, hp.lr_scheduler_factor, hp.early_stopping) == ((), 0.1, False)
    assert (hp.early_stopping_min_epochs, hp.early_stopping_patience, hp.early_stopping_tolerance) == (10, 5, 0.0)


def test_strings_are_parsed():
    hp = parse_hyperparameters(
        {
            **BASE,
            "lr_scheduler_step": "10, 20",
            "early_stopping": "True",
            "optimizer": "Adam",
            "epochs": "30.0",
            "base_network": "mobilenet-v3",
            "freeze_layer_pattern": "^features\\.0",
        }
    )
    assert hp.lr_scheduler_step == (10, 20) and hp.early_stopping and hp.optimizer == "adam" and hp.epochs == 30


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("epochs", "abc", "hyperparameter 'epochs' = 'abc': expected a positive integer"),
        ("epochs", "0", "hyperparameter 'epochs' = '0': expected a positive integer"),
        ("learning_rate", "1.5", "hyperparameter 'learning_rate' = '1.5': expected a number in (0, 1]"),
        ("lr_scheduler_factor", "1", "hyperparameter 'lr_scheduler_factor' = '1': expected a number in (0, 1)"),
        ("optimizer", "lbfgs", "hyperparameter 'optimizer' = 'lbfgs': expected one of 'sgd', 'adam', 'rmsprop', 'adadelta'"),
        ("base_network", "resnet-18", "hyperparameter 'base_network' = 'resnet-18': expected one of 'vgg-16', 'resnet-50', 'mobilenet-v3'"),
        ("use_pretrained_model", "2", "hyperparameter 'use_pretrained_model' = '2': expected '0' or '1'"),
        ("image_shape", "32", "hyperparameter 'image_shape' = '32': expected an integer from 64 to 2048"),
        ("early_stopping", "maybe", "hyperparameter 'early_stopping' = 'maybe': expected 'True' or 'False'"),
        ("lr_scheduler_step", "20,10", "hyperparameter 'lr_scheduler_step' = '20,10': expected comma-separated positive epoch numbers"),
        ("freeze_layer_pattern", "(", "hyperparameter 'freeze_layer_pattern' = '(': expected a valid regular expression"),
        ("kv_store", "local", "hyperparameter 'kv_store' = 'local': expected one of 'dist_sync', 'dist_async'"),
        ("early_stopping_tolerance", "-0.1", "hyperparameter 'early_stopping_tolerance' = '-0.1': expected a number in [0, 1]"),
    ],
)
def test_a_bad_value_names_the_hyperparameter_the_value_and_what_is_allowed(name, value, message):
    with pytest.raises(HyperparameterError) as e:
        parse_hyperparameters({**BASE, name: value})
    assert str(e.value).startswith(message)


def test_required_hyperparameters():
    with pytest.raises(HyperparameterError, match="hyperparameter 'num_classes' is required"):
        parse_hyperparameters({"num_training_samples": "1"})


def test_unknown_hyperparameters_fail_but_tuner_and_sdk_keys_are_ignored():
    parse_hyperparameters({**BASE, "_tuning_objective_metric": "validation:mAP", "sagemaker_region": "x"})
    with pytest.raises(HyperparameterError, match="'batch_size' = '8': not a hyperparameter"):
        parse_hyperparameters({**BASE, "batch_size": "8"})


def test_image_shape_below_300_is_allowed_with_a_warning(caplog):
    assert parse_hyperparameters({**BASE, "image_shape": "64"}).image_shape == 64
    assert "below SageMaker's minimum of 300" in caplog.text
