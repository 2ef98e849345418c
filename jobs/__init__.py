"""The GPU job image: ``python -m jobs {upscale,denoise,detect-text,inpaint} ...``."""
