"""The Flask extensions, created unbound and initialised by `create_app` (the rate limiter is one per app: http/rate_limiting.py)."""
from flask_migrate import Migrate
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
sock = Sock()
