from django.core.management.base import BaseCommand, CommandError

from annotation_server.accounts.services import annotators_create
from annotation_server.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Create annotator accounts and print their log-ins."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--prefix", default="annotator")
        parser.add_argument(
            "--password", default=None, help="One password for all (default: a random one each)."
        )

    def handle(self, *args, count, prefix, password, **options):
        try:
            created = annotators_create(count=count, prefix=prefix, password=password)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        for username, pw in created:
            self.stdout.write(f"{username}\t{pw}")
        self.stderr.write(self.style.SUCCESS(f"Created {len(created)} annotator account(s)."))
