"""``newsdesk cache clear``: forget the pages remembered across builds (an entry of
:data:`newsdesk.cli.EXTENSIONS`)."""

from __future__ import annotations

import argparse

from newsdesk import pagecache


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "cache",
        help="the build's page cache (.newsdesk/page-cache)",
        description="Pages whose inputs did not change are not converted again "
        "(see 'cache:' in mkdocs.yml); 'clear' forgets them all.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    clear = actions.add_parser("clear", help="delete the page cache; the next build converts all")
    for p in (parser, clear):
        p.add_argument(
            "-f",
            "--config-file",
            default=argparse.SUPPRESS,
            metavar="FILE",
            help="the project's mkdocs.yml (default: ./mkdocs.yml)",
        )
    clear.set_defaults(handler=_clear)


def _clear(args: argparse.Namespace) -> int:
    from newsdesk.cli import load_settings_for

    settings = load_settings_for(args)
    count = pagecache.clear(settings.state_dir)
    where = settings.relative(pagecache.cache_dir(settings.state_dir))
    print(f"newsdesk: cleared the page cache {where}/ ({count} entries)")
    return 0
