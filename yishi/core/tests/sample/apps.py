from django.apps import AppConfig


class SampleConfig(AppConfig):
    name = "yishi.core.tests.sample"
    label = "sample"
