"""The Flask extensions, created unbound and initialised by `create_app`."""
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from webapp.client_address import client_address


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
limiter = Limiter(key_func=client_address)
sock = Sock()
