"""The routine-message filter: transformers' lines about every third-party model are dropped for U2-Net only, and
the filter is in place as soon as the configuration is imported (the first thing every load imports)."""

import logging
import subprocess
import sys


class _FakePipeline:
    """Stands for a transformers pipeline whose __init__ logs "Device set to use" (4.x does, at warning level)."""

    def __init__(self, model_type):
        import types

        self.model = types.SimpleNamespace(config=types.SimpleNamespace(model_type=model_type))
        logging.getLogger("transformers.pipelines.base").warning("Device set to use cpu")


def test_routine_messages_are_dropped_for_u2net_only():
    import u2net_hf.configuration_u2net  # noqa: F401 - installs the filter
    from u2net_hf.logging_u2net import ROUTINE_MESSAGE_LOGGERS, RoutineMessageFilter

    for name in ROUTINE_MESSAGE_LOGGERS:
        assert sum(type(f) is RoutineMessageFilter for f in logging.getLogger(name).filters) == 1
    messages = []

    class Recorder(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    recorder = Recorder(logging.WARNING)
    pipeline_logger = logging.getLogger("transformers.pipelines.base")
    processor_logger = logging.getLogger("transformers.models.auto.image_processing_auto")
    for logger in (pipeline_logger, processor_logger):
        logger.addHandler(recorder)
    try:
        _FakePipeline("u2net")
        _FakePipeline("bert")
        pipeline_logger.error("The model 'U2NetForImageSegmentation' is not supported for image-segmentation.")
        pipeline_logger.error("The model 'BertModel' is not supported for image-segmentation.")

        def from_pretrained(config_dict):
            processor_logger.warning("Using a slow image processor as `use_fast` is unset")

        from_pretrained({"image_processor_type": "U2NetImageProcessor"})
        from_pretrained({"image_processor_type": "ViTImageProcessor"})
    finally:
        for logger in (pipeline_logger, processor_logger):
            logger.removeHandler(recorder)
    assert messages == [
        "Device set to use cpu",
        "The model 'BertModel' is not supported for image-segmentation.",
        "Using a slow image processor as `use_fast` is unset",
    ]


def test_the_configuration_installs_the_filter():
    # Every load imports the configuration first (AutoConfig, AutoModel, pipelines; remote code too), so the filter
    # is in place before transformers picks the processor or builds the pipeline.
    from u2net_hf.logging_u2net import ROUTINE_MESSAGE_LOGGERS

    code = (
        "import logging, u2net_hf.configuration_u2net\n"
        f"print([len(logging.getLogger(name).filters) for name in {ROUTINE_MESSAGE_LOGGERS!r}])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str([1] * len(ROUTINE_MESSAGE_LOGGERS))
