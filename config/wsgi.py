import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# The web server hands its Celery messages to a publisher thread (surveys.queue): no
# request waits on the broker.
from surveys.queue import publish_in_background  # noqa: E402

publish_in_background()
