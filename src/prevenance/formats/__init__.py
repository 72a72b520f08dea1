"""Date and number formats of the interface languages where Django's default is not ours
(settings.FORMAT_MODULE_PATH): English pages in the European way, as the service they run."""
