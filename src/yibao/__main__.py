from yibao.entrypoints.cli.main import app

app()
