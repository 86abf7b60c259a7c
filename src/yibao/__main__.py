from yibao.cli import app

app()
