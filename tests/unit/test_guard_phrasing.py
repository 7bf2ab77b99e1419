"""Classes of phrasing the guard reads: each with a wording it stops and a near one it passes.

The sentences are written for these tests (not taken from the labelled dev sets): each rule
class must catch its family of wordings, and the negated or harmless neighbour must pass.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from policies.guard import GuardContext, check, required_disclosures

TODAY = date(2026, 3, 10)


def ctx(**overrides: object) -> GuardContext:
    base: dict[str, object] = {
        "currency": "MXN",
        "locale": "es_MX",
        "today": TODAY,
        "allowed_amounts": {Decimal("4500"), Decimal("3825"), Decimal("1500")},
        "allowed_percentages": {Decimal("15")},
        "allowed_counts": {1, 3},
        "allowed_dates": {date(2026, 3, 15), date(2026, 4, 15), date(2026, 5, 15)},
        "allowed_options": {1, 2},
        "allowed_numbers": {Decimal(4)},
        "allowed_literals": {"MX-000123", "Financiera Aurora"},
        "creditor": "Financiera Aurora",
    }
    return GuardContext(**(base | overrides))


# (rule class, a wording it must stop with this rule, a near wording that must pass)
CLASSES = [
    # -- visits: going to the debtor's home or work, field agents, "we have your address"
    (
        "forbidden.threat.visit",
        "Un gestor se desplazará hasta tu domicilio esta semana.",
        "Nadie se desplazará a tu domicilio: todo se resuelve por este chat.",
    ),
    (
        "forbidden.threat.visit",
        "Nuestro personal de campo pasará por tu negocio el lunes.",
        "Puedes acercarte a cualquier sucursal o pagar desde tu casa.",
    ),
    (
        "forbidden.threat.visit",
        "Te vamos a mandar un notificador si no respondes.",
        "Te escribe un cobrador de deudas en nombre de Financiera Aurora.",
    ),
    (
        "forbidden.threat.visit",
        "El cobrador ya tiene su domicilio registrado.",
        "Un asesor te ayudará a llegar a un acuerdo por este medio.",
    ),
    (
        "forbidden.threat.visit",
        "Estaremos por la zona de tu trabajo el lunes.",
        "Un asesor va a estar disponible por este chat toda la tarde.",
    ),
    (
        "forbidden.threat.visit",
        "Te esperamos a la puerta de tu oficina.",
        "Acércate a la tienda más cercana con tu referencia MX-000123.",
    ),
    (
        "forbidden.threat.visit",
        "Nuestro cobrador de zona va a tocarte el timbre.",
        "Toca el botón de abajo para ver tus opciones.",
    ),
    (
        "forbidden.threat.visit",
        "Alguien de la financiera se da una vuelta por tu casa mañana.",
        "Puedo darte una vuelta de opciones: 3 cuotas o pago único.",
    ),
    (
        "forbidden.threat.visit",
        "Ya mandamos a un gestor a buscarte al trabajo.",
        "Puedes buscarnos en la oficina de Financiera Aurora más cercana.",
    ),
    (
        "forbidden.threat.visit",
        "Vamos a ir a cobrarte personalmente.",
        "Con gusto te atiendo personalmente por este chat.",
    ),
    (
        "forbidden.threat.visit",
        "Sabemos dónde trabajas.",
        "Puedes pagar en cualquier sucursal de la ciudad donde vives.",
    ),
    # -- third parties: by article or possessive, messages left, "her", "them", who knows
    (
        "forbidden.pressure.third_party",
        "Le preguntaremos al portero por usted.",
        "No le preguntaremos nada a sus vecinos.",
    ),
    (
        "forbidden.pressure.third_party",
        "Vamos a explicarle lo que pasa a tu suegra.",
        "Comunícate con nosotros o pídele a tu hija que te ayude con la app.",
    ),
    (
        "forbidden.pressure.third_party",
        "Le dejaremos el recado sobre su cuenta a su jefa.",
        "Te dejo el detalle de tu cuenta para que lo revises con calma.",
    ),
    (
        "forbidden.pressure.third_party",
        "Podemos mandarle a él también el estado de cuenta.",
        "Si quieres, puedes compartirle tú el estado de cuenta desde la app.",
    ),
    (
        "forbidden.pressure.third_party",
        "Les llamaremos para contarles lo de tu deuda.",
        "Te escribimos para explicarte tus opciones.",
    ),
    (
        "forbidden.pressure.third_party",
        "Tus compañeros de oficina ya saben que te estamos buscando.",
        "Tus datos son confidenciales y solo hablamos contigo.",
    ),
    (
        "forbidden.pressure.third_party",
        "Pásanos el número de tu hermano y lo llamamos.",
        "Pásanos tu número de cuenta y lo revisamos.",
    ),
    (
        "forbidden.pressure.third_party",
        "Vamos a poner al tanto a tu familia.",
        "Gracias por ponernos al tanto de tu situación.",
    ),
    (
        "forbidden.pressure.third_party",
        "Tu familia se va a enterar de todo.",
        "Tu familia no se va a enterar de nada: tus datos son confidenciales.",
    ),
    # -- third parties as a class: contacted, answered by, asked, sent something, handed over
    (
        "forbidden.pressure.third_party",
        "Ayer platicamos con tu suegra y quedó en recordarte el pago.",
        "Ayer platicamos de tus opciones y quedamos en escribirte hoy.",
    ),
    (
        "forbidden.pressure.third_party",
        "Tu primo nos dijo que ya no vives en esa dirección.",
        "Tú nos dijiste que preferías pagar a fin de mes.",
    ),
    (
        "forbidden.pressure.third_party",
        "Llamamos a tu casa y nos atendió tu papá.",
        "Te llamamos ayer y no pudimos hablar; te escribo por aquí.",
    ),
    (
        "forbidden.pressure.third_party",
        "Tu abuela es tu contacto de emergencia, así que le vamos a escribir.",
        "Lamento lo de tu abuela; si quieres, lo vemos la próxima semana.",
    ),
    (
        "forbidden.pressure.third_party",
        "Tu novio figura en la solicitud: podemos enviarle a él el link de pago.",
        "Te envío a ti el link de pago por este chat.",
    ),
    (
        "forbidden.pressure.third_party",
        "¿Me pasas con tu mamá un momento?",
        "¿Me pasas tu número de referencia MX-000123?",
    ),
    (
        "forbidden.pressure.third_party",
        "Dile a tu esposa que la cuota vence el 15 de marzo.",
        "Te recuerdo que la cuota vence el 15 de marzo.",
    ),
    (
        "forbidden.pressure.third_party",
        "¿Y si tu hermana nos cubre la primera cuota?",
        "¿Y si dejamos la primera cuota para el 15 de abril?",
    ),
    (
        "forbidden.pressure.third_party",
        "No quisiéramos tener que pedirle al pastor de tu iglesia que hable contigo.",
        "No quisiéramos presionarte: tómate tu tiempo.",
    ),
    (
        "forbidden.pressure.third_party",
        "Antes de recurrir a tus referencias personales, preferimos hablar contigo.",
        "Antes de cerrar el plan, preferimos confirmar contigo las fechas.",
    ),
    (
        "forbidden.pressure.third_party",
        "Hablamos con el casero del departamento donde vives.",
        "Hablamos de tu plan para que lo pagues desde donde vives.",
    ),
    (
        "forbidden.pressure.third_party",
        "Publicamos un aviso en el grupo de WhatsApp de tu edificio.",
        "Te escribimos solo por este chat, que es privado.",
    ),
    (
        "forbidden.pressure.third_party",
        "Te llamaremos al trabajo mañana temprano.",
        "Te llamaremos mañana temprano, como nos pediste.",
    ),
    (
        "forbidden.pressure.third_party",
        "Enviaremos el aviso de cobro a tu oficina.",
        "Enviaremos el aviso de pago a este chat.",
    ),
    (
        "forbidden.pressure.third_party",
        "Tenemos registrado el celular de tu jefe.",
        "Tenemos registrado tu celular para avisarte de cada pago.",
    ),
    (
        "forbidden.pressure.third_party",
        "We left a message with your roommate yesterday.",
        "We will never contact your roommate, your boss or your family.",
    ),
    (
        "forbidden.pressure.third_party",
        "We can call you at work tomorrow.",
        "We can text you tomorrow to work out a plan.",
    ),
    (
        "forbidden.pressure.third_party",
        "A tu tía ya le explicamos lo de la cuota.",
        "A ti ya te explicamos lo de la cuota.",
    ),
    (
        "forbidden.pressure.third_party",
        "Tus suegros ya están al tanto de tu atraso.",
        "Tus suegros no tienen por qué enterarse: solo hablamos contigo.",
    ),
    # -- visits as a class: rounds, areas, slang, past visits, field collection
    (
        "forbidden.threat.visit",
        "Te esperamos afuera de tu taller a la salida.",
        "Te esperamos por este chat cuando salgas del taller.",
    ),
    (
        "forbidden.threat.visit",
        "We will stop by your store on Friday.",
        "You can stop by any store on Friday to pay.",
    ),
    (
        "forbidden.threat.visit",
        "Pasaremos por tu tienda el sábado para cerrar el acuerdo.",
        "Puedes pasar por tu tienda más cercana para pagar.",
    ),
    (
        "forbidden.threat.visit",
        "Fuimos a tu casa ayer pero no había nadie.",
        "Ayer te escribimos pero no hubo respuesta.",
    ),
    (
        "forbidden.threat.visit",
        "Mañana te caemos en la chamba.",
        "Cuando te caiga la quincena, puedes pagar desde la app.",
    ),
    (
        "forbidden.threat.visit",
        "Uno de nuestros cobradores anda por tu barrio esta semana.",
        "Hay una tienda de pago en tu barrio, abierta toda la semana.",
    ),
    (
        "forbidden.threat.visit",
        "Estamos recorriendo tu colonia con el equipo de cobranza.",
        "Estamos revisando tu cuenta con el equipo de atención.",
    ),
    (
        "forbidden.threat.visit",
        "Ya estás en nuestra ruta de cobranza del jueves.",
        "Ya estás en nuestro plan de pagos: la primera cuota es el 15 de marzo.",
    ),
    (
        "forbidden.threat.visit",
        "Nuestro personal de recaudo en terreno pasará esta semana.",
        "Nuestro personal de atención te responde esta semana por este chat.",
    ),
    (
        "forbidden.threat.visit",
        "Nadie va a ir a tu casa, pero el gestor pasará a saludarte al trabajo.",
        "Nadie de Financiera Aurora irá a tu casa ni a tu trabajo.",
    ),
    # -- repossession wherever the goods are
    (
        "forbidden.threat.seizure",
        "Retiraremos el vehículo donde se encuentre.",
        "Puedes seguir usando tu vehículo mientras pagas.",
    ),
    (
        "forbidden.threat.seizure",
        "El refrigerador sigue a nombre de la tienda; procederemos a recogerlo.",
        "Tu comprobante sale a nombre de la tienda; guárdalo.",
    ),
    (
        "forbidden.threat.seizure",
        "Este mensaje es un aviso de embargo.",
        "Este mensaje no es un aviso de embargo.",
    ),
    # -- shaming: lists of debtors, the debtor's name put on one
    (
        "forbidden.shaming",
        "Vamos a subir tu nombre a la lista de morosos del condominio.",
        "Tu nombre no aparecerá en ninguna lista.",
    ),
    (
        "forbidden.shaming",
        "Está la relación de socios con cuotas atrasadas en la cartelera.",
        "Tienes 3 cuotas en tu plan; la cartelera de la sucursal muestra los horarios.",
    ),
    # -- shaming: gossip, embarrassment, moralising, mocking, social media, comparisons
    (
        "forbidden.shaming",
        "¿Qué dirá la gente cuando se sepa que no pagas?",
        "Nadie más sabrá de tu cuenta; es información confidencial.",
    ),
    (
        "forbidden.shaming",
        "Todo tu barrio se va a enterar de que debes.",
        "Todo tu historial de pagos se actualiza al liquidar.",
    ),
    (
        "forbidden.shaming",
        "Con lo que gastas en salidas podrías haber pagado.",
        "Con lo que pagues hoy, avanzas en tu plan.",
    ),
    (
        "forbidden.shaming",
        "Ahórrate la vergüenza y paga hoy.",
        "Lo importante es encontrar una salida que te funcione.",
    ),
    (
        "forbidden.shaming",
        "Las deudas se pagan, es una cuestión de principios.",
        "Te ayudamos a organizar tus pagos como mejor te acomode.",
    ),
    (
        "forbidden.shaming",
        "A tu edad ya deberías saber administrar tu dinero.",
        "Si quieres, te comparto consejos para organizar tus finanzas.",
    ),
    (
        "forbidden.shaming",
        "Otra vez con la misma excusa de siempre.",
        "Entiendo, gracias por avisarme.",
    ),
    (
        "forbidden.shaming",
        "Vimos en Facebook las fotos de tu viaje.",
        "Puedes seguirnos en Facebook para ver nuestras promociones.",
    ),
    (
        "forbidden.shaming",
        "A diferencia de tu hermano, tú todavía no cumples.",
        "Si tu hermano te ayuda con el pago, envíanos el comprobante.",
    ),
    # -- insults: regional words; an echoed insult denied is not one
    (
        "forbidden.insult",
        "No seas patudo, ya te dimos facilidades.",
        "Para nada pensamos que seas un conchudo; a cualquiera le pasa.",
    ),
    # -- false urgency measured in hours
    (
        "forbidden.false_urgency",
        "Solo puedo guardarte el descuento durante media hora.",
        "Un asesor te responderá en unas horas.",
    ),
    (
        "forbidden.false_urgency",
        "Se te acaba el tiempo para aceptar.",
        "Tómate el tiempo que necesites.",
    ),
    # -- seizure said as a noun or with freezing verbs
    (
        "forbidden.threat.seizure",
        "Se procederá al congelamiento de tus cuentas bancarias.",
        "No vamos a retener tu sueldo ni congelar tus cuentas.",
    ),
    # -- criminal complaints and the debt called a crime
    (
        "forbidden.threat.jail",
        "Presentaremos una denuncia por estafa.",
        "Puedes presentar una denuncia ante PROFECO si lo necesitas.",
    ),
    (
        "forbidden.threat.jail",
        "Lo suyo ya es un delito.",
        "No pagar una deuda no es un delito.",
    ),
    # -- a judge, a suit filed
    (
        "forbidden.threat.legal",
        "Esto lo va a ver un juez.",
        "Nunca te llevaremos ante un juez por esto.",
    ),
    (
        "forbidden.threat.legal",
        "Vamos a interponer la demanda esta semana.",
        "No vamos a interponer ninguna demanda.",
    ),
    # -- forgiveness said impersonally
    (
        "promise.condonation",
        "Con ese pago, el resto se da por condonado.",
        "Al pagar la última cuota, tu cuenta quedará saldada.",
    ),
    # -- visits said indirectly: passive, assigned field staff, the address on file, papers
    # brought in person, "when are you home", appointments at the debtor's address
    (
        "forbidden.threat.visit",
        "Si no hay respuesta, será visitada en su trabajo por nuestro personal.",
        "Usted no será visitado; todo se resuelve por este chat.",
    ),
    (
        "forbidden.threat.visit",
        "Un gestor de campo quedó asignado a tu caso.",
        "Un asesor quedó asignado a tu caso para atenderte por este chat.",
    ),
    (
        "forbidden.threat.visit",
        "Iremos a buscarte a la dirección que tenemos registrada.",
        "Te enviaremos el estado de cuenta a la dirección que tenemos registrada.",
    ),
    (
        "forbidden.threat.visit",
        "Un mensajero le entregará el convenio en mano para que lo firme.",
        "Le enviaremos el convenio por correo electrónico para que lo firme.",
    ),
    (
        "forbidden.threat.visit",
        "¿A qué hora te encontramos en casa? Es para llevarte el convenio.",
        "¿A qué hora te podemos llamar para revisar el convenio?",
    ),
    (
        "forbidden.threat.visit",
        "Agendamos una cita en su domicilio para el 15 de marzo.",
        "Puede agendar una cita en nuestra sucursal para el 15 de marzo.",
    ),
    (
        "forbidden.threat.visit",
        "Someone from our office will knock on your door next week.",
        "Nobody will knock on your door; everything is handled here.",
    ),
    (
        "forbidden.threat.visit",
        "Our agent will be in your neighborhood on Friday.",
        "You can pay at any store in your neighborhood.",
    ),
    # -- third parties said indirectly: whoever answers, whoever runs the money at home, the
    # building, references given at signup, a go-between asked for, groups and tags
    (
        "forbidden.pressure.third_party",
        "Dejaremos el recado con quien conteste en tu casa.",
        "Si no puedes contestar, te escribimos más tarde.",
    ),
    (
        "forbidden.pressure.third_party",
        "Pídele a quien maneja las cuentas en tu casa que nos llame.",
        "Llámanos cuando tengas un momento para revisar las cuentas.",
    ),
    (
        "forbidden.pressure.third_party",
        "Le avisaremos a la administración de su edificio.",
        "Nadie de su edificio sabrá de este tema.",
    ),
    (
        "forbidden.pressure.third_party",
        "Hablaremos con las referencias que dejaste en la solicitud.",
        "Las referencias de pago están en el comprobante.",
    ),
    (
        "forbidden.pressure.third_party",
        "Indícanos un familiar con quien podamos revisar el pago.",
        "Indícanos un horario en que podamos revisar el pago.",
    ),
    (
        "forbidden.pressure.third_party",
        "Crearemos un grupo de WhatsApp con tus hermanos para recordarte el pago.",
        "Si te resulta más cómodo, seguimos por este chat de WhatsApp.",
    ),
    (
        "forbidden.pressure.third_party",
        "Te etiquetaremos en una publicación con la oferta.",
        "Te enviaremos la oferta por mensaje privado.",
    ),
    (
        "forbidden.pressure.third_party",
        "We'll leave a message with whoever picks up at your house.",
        "We'll leave you a voicemail if you can't pick up.",
    ),
    # -- visits (dev8 classes): knowing where the debtor lives or works, the collector on the
    # way or already there, coming to the debtor, euphemisms
    (
        "forbidden.threat.visit",
        "Ya sabemos dónde trabajas, así que mejor arreglemos.",
        "Ya sabemos que trabajas mucho, así que buscamos una opción cómoda.",
    ),
    (
        "forbidden.threat.visit",
        "Tenemos ubicada la dirección de tu oficina.",
        "Tenemos registrada la dirección de correo que nos diste.",
    ),
    (
        "forbidden.threat.visit",
        "Un gestor nuestro va rumbo a tu casa para firmar el convenio.",
        "El comprobante va rumbo a tu correo.",
    ),
    (
        "forbidden.threat.visit",
        "Nuestro asesor estuvo ayer en tu negocio preguntando por ti.",
        "Nuestro asesor estuvo revisando tu caso ayer.",
    ),
    (
        "forbidden.threat.visit",
        "Si no puedes venir, nosotros nos acercamos a ti.",
        "Si no puedes venir, te atendemos por este chat.",
    ),
    (
        "forbidden.threat.visit",
        "Tendremos que ir a buscarte si no contestas.",
        "Tendremos que revisar tu caso si no contestas.",
    ),
    (
        "forbidden.threat.visit",
        "Ojalá no haga falta que alguien vaya a hablar contigo.",
        "Ojalá podamos hablar contigo pronto por aquí.",
    ),
    (
        "forbidden.threat.visit",
        "Te haremos una visita de cortesía.",
        "Te haremos una llamada de cortesía.",
    ),
    (
        "forbidden.threat.visit",
        "Programaremos una verificación de domicilio.",
        "Nosotros no programamos ninguna verificación de domicilio.",
    ),
    (
        "forbidden.threat.visit",
        "El equipo de acompañamiento en sitio te buscará.",
        "El equipo de atención te escribirá por este chat.",
    ),
    (
        "forbidden.threat.visit",
        "Our agent can stop by to help you sign.",
        "You can stop by our office to sign.",
    ),
    (
        "forbidden.threat.visit",
        "We know where you work, so let's settle this here.",
        "We know money is tight, so let's settle this here.",
    ),
    # -- third parties (dev8 classes) already reached or offered as the channel: told us,
    # knows, informed, groups, references, clubs
    (
        "forbidden.pressure.third_party",
        "Tu cuñada nos comentó que ya cobraste.",
        "Nos comentaste que ya cobraste.",
    ),
    (
        "forbidden.pressure.third_party",
        "Tus compañeros de trabajo ya saben que te estamos buscando.",
        "Ya sabemos que estás buscando trabajo.",
    ),
    (
        "forbidden.pressure.third_party",
        "Tu empleador ya fue informado de la deuda.",
        "Tú ya fuiste informado de la oferta.",
    ),
    (
        "forbidden.pressure.third_party",
        "En el grupo de vecinos nos pasaron tu número.",
        "En este chat te pasamos la referencia de pago.",
    ),
    (
        "forbidden.pressure.third_party",
        "Nos comunicamos con las referencias de tu solicitud.",
        "Revisamos las referencias de pago de tu solicitud.",
    ),
    (
        "forbidden.pressure.third_party",
        "En la iglesia nos dijeron que ya tienes trabajo.",
        "En la oficina nos dijeron que ya pagaste.",
    ),
    (
        "forbidden.pressure.third_party",
        "Tu hermano puede ser quien nos confirme el pago.",
        "Tu hermano puede ayudarte, pero el pago lo confirmamos contigo.",
    ),
    (
        "forbidden.pressure.third_party",
        "Lo coordinamos a través de tu jefe.",
        "Lo coordinamos a través de este chat.",
    ),
    (
        "forbidden.pressure.third_party",
        "Si quieres, le explicamos el saldo a tu pareja.",
        "Si quieres, te explicamos el saldo otra vez.",
    ),
    (
        "forbidden.pressure.third_party",
        "We're going to text your sister about the balance.",
        "We're going to text you about the balance.",
    ),
    (
        "forbidden.pressure.third_party",
        "Your manager mentioned you were out.",
        "You said your manager approved the leave.",
    ),
    (
        "forbidden.pressure.third_party",
        "We posted in the community group about your account.",
        "We posted your receipt to your account page.",
    ),
]


@pytest.mark.parametrize(("rule_id", "stopped", "passed"), CLASSES)
def test_each_class_stops_its_wording_and_passes_its_neighbour(
    rule_id: str, stopped: str, passed: str
) -> None:
    verdict = check(stopped, ctx())
    assert verdict.outcome == "block", stopped
    assert rule_id in verdict.rule_ids, (stopped, verdict.rule_ids)
    assert check(passed, ctx()).outcome == "pass", passed


@pytest.mark.parametrize(
    "draft",
    [
        # talking about the threat to deny it
        "No te escribo para hablar de demandas: buscamos un acuerdo.",
        "Aquí nadie te va a amenazar con embargos.",
        "No estamos tomando ninguna acción para embargar tu salario.",
        # a threat coordinated with a negated one
        "Nadie te va a demandar ni embargar.",
        "Nobody is going to arrest you or garnish your wages.",
        # the document named to say what the message is not, or where it does not come from
        "Este mensaje no es una carta notarial ni una citación judicial.",
        "Este mensaje no viene de un juzgado ni de un despacho de abogados.",
        # "caso" is a condition only in "en caso no pague"
        "Tu caso no está en cobranza judicial; es una gestión amistosa.",
        # mail to the debtor's address, and the legal notice before a bureau report
        "El estado de cuenta te llegará a tu domicilio como siempre.",
        "Antes de cualquier reporte al buró, la ley exige avisarte con anticipación.",
        # a negated subject that names the creditor
        "Nadie de Financiera Aurora irá a tu casa ni a tu trabajo.",
        "Ningún gestor de nuestro equipo pasará por tu negocio.",
        # "recuperar" of health, "retirar" a bureau report
        "Espero que te recuperes bien de la operación.",
        "Al confirmar tu pago, procederemos a retirarlo de la central de riesgo.",
    ],
)
def test_negated_threats_pass(draft: str) -> None:
    assert check(draft, ctx()).outcome == "pass", draft


@pytest.mark.parametrize(
    "draft",
    [
        "No te escribo para amenazarte, pero si no pagas te demandaremos.",
        "No es para asustarte, pero vamos a embargar tu sueldo.",
        "No creo que seas tan idiota como para no pagar.",
        "Preferimos no tener que llamar a tu jefe.",
        # "nadie de" negates only when the creditor follows, not "nadie de tu familia sabe"
        "Nadie de tu familia sabe que iremos a tu casa mañana.",
        # the exception for a guarantor does not reach a threat to visit
        "Nadie de Financiera Aurora te llama: te caemos directo en el trabajo.",
        "Para que no tengamos que ir a tu casa, paga hoy.",
        "En caso no lo embarguemos hoy, será mañana.",  # "en caso no": a condition
    ],
)
def test_veiled_or_conditional_threats_still_stop(draft: str) -> None:
    assert check(draft, ctx()).outcome == "block", draft


@pytest.mark.parametrize(
    "draft",
    [
        "La oferta caduca esta noche.",
        "El descuento solo dura unas horas.",
        "Mañana ya no podré ofrecerte este descuento.",
        "Esta oferta no estará mañana.",
    ],
)
def test_a_same_day_deadline_is_urgency_unless_a_date_is_today(draft: str) -> None:
    verdict = check(draft, ctx())
    assert verdict.outcome == "block"
    assert verdict.rule_ids == ["forbidden.false_urgency"]
    today_is_due = ctx(allowed_dates={TODAY, date(2026, 4, 15)})
    assert check(draft, today_is_due).outcome == "pass"


# -- counts said with words --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draft", "count"),
    [
        ("Serían un par de cuotas de $1,500.", 2),
        ("Quedaría en media docena de pagos de $1,500.", 6),
        ("Son una docena de mensualidades de $1,500.", 12),
        ("Quedaría en un semestre, con cuotas mensuales de $1,500.", 6),
        ("Lo puedes pagar durante un trimestre con pagos quincenales de $1,500.", 6),
        ("Pagarías en un año y medio, mes a mes, $1,500.", 18),
    ],
)
def test_counts_said_with_words(draft: str, count: int) -> None:
    verdict = check(draft, ctx())
    assert verdict.rule_ids == ["figures.unknown_count"], draft
    assert check(draft, ctx(allowed_counts={1, count})).outcome == "pass", draft


@pytest.mark.parametrize(
    "draft",
    [
        "Tómate un par de días para pensarlo.",
        "Te escribo en un par de horas con el detalle.",
        "Llevas un año con nosotros, gracias por tu confianza.",  # no cadence: not a plan
        "¿Me confirmas los 4 últimos dígitos de tu INE?",  # a count of digits, not a day
    ],
)
def test_vague_spans_and_digit_counts_are_not_figures(draft: str) -> None:
    assert check(draft, ctx()).outcome == "pass", draft


@pytest.mark.parametrize(
    ("draft", "count"),
    [
        ("Paga hasta la sexta cuota de $1,500 y queda saldado.", 6),
        ("La cuarta y última cuota es de $1,500.", 4),
        ("Lo fraccionamos en un cuatrimestre, con la primera cuota el 15 de marzo.", 4),
        ("Lo puedes pagar en medio año, en cuotas de $1,500.", 6),
        ("We can do five easy monthly payments of $1,500.", 5),
    ],
)
def test_counts_said_with_ranks_periods_and_english_words(draft: str, count: int) -> None:
    verdict = check(draft, ctx())
    assert verdict.rule_ids == ["figures.unknown_count"], (draft, verdict.rule_ids)
    assert check(draft, ctx(allowed_counts={1, count})).outcome == "pass", draft


@pytest.mark.parametrize(
    "draft",
    [
        "Son 3 cuotas de $1,500 cada dos semanas.",  # a frequency, not a count
        "Pagas $1,500 cada 15 días, en 3 cuotas.",
        "Three payments of $1,500 every two weeks.",
        "La segunda cuota vence el 15 de abril.",  # a rank within the plan
        "En un año podrás pedir otro crédito; hoy vemos tus 3 cuotas.",  # time, not a plan
    ],
)
def test_frequencies_and_ranks_within_the_plan_are_not_counts(draft: str) -> None:
    assert check(draft, ctx()).outcome == "pass", draft


def test_a_date_without_a_year_is_the_next_one_when_that_is_the_plan_date() -> None:
    december = ctx(today=date(2026, 12, 1), allowed_dates={date(2027, 1, 10), date(2027, 8, 10)})
    assert check("Empiezas el 10 de enero y terminas el 10 de agosto.", december).passed
    assert check("Terminas el 10 de julio.", december).rule_ids == ["figures.unknown_date"]


# -- third parties the pack excepts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("draft", "allowed_in", "stopped_in"),
    [
        # Regulation F treats the spouse as the consumer (us pack: exceptions include spouse).
        ("Si es tu cónyuge, podemos hablar con ella con tu autorización.", "us", "mx"),
        ("Como nos pides, podemos explicarle a tu esposo las opciones.", "us", "co"),
        # A guarantor or co-debtor the draft names as such (mx, co, cl, pe; not es, ar).
        ("Como tu papá firmó como aval, con tu permiso le escribimos a él.", "mx", "es"),
        ("Como tu hermana es tu codeudora, podemos hablar con ella del plan.", "co", "ar"),
    ],
)
def test_people_the_pack_excepts_may_be_spoken_of_only_under_that_pack(
    draft: str, allowed_in: str, stopped_in: str
) -> None:
    allowed = check(draft, ctx(pack=allowed_in))
    assert "forbidden.pressure.third_party" not in allowed.rule_ids, (draft, allowed.rule_ids)
    stopped = check(draft, ctx(pack=stopped_in))
    assert "forbidden.pressure.third_party" in stopped.rule_ids, (draft, stopped.rule_ids)
    assert "forbidden.pressure.third_party" in check(draft, ctx()).rule_ids  # no pack: none


@pytest.mark.parametrize(
    "draft",
    [
        # someone outside the exception named too
        "Como tu papá es tu aval, le escribimos a él y a tu mamá.",
        # the exception is not a lever: "if you don't pay"
        "Si no pagas, le escribimos a tu papá, que es tu aval.",
    ],
)
def test_an_excepted_person_does_not_cover_others_or_threats(draft: str) -> None:
    assert "forbidden.pressure.third_party" in check(draft, ctx(pack="mx")).rule_ids, draft


# -- disclosures follow the pack ---------------------------------------------------------------


def test_how_to_pay_is_required_where_the_pack_or_the_floor_asks_for_it() -> None:
    us = ctx(pack="us", currency="USD", locale="es_US", first_contact=True)
    # Regulation F asks for the validation and debt-collector notices, not how to pay.
    assert required_disclosures(us) == ["creditor_identity", "amount", "opt_out_instruction"]
    assert "how_to_pay" in required_disclosures(ctx(pack="mx", first_contact=True))
    assert "how_to_pay" in required_disclosures(ctx(pack="es", first_contact=True))
    assert "how_to_pay" in required_disclosures(ctx(first_contact=True))  # no pack: the floor
    draft = (
        "Te escribe un cobrador de deudas en nombre de Financiera Aurora. Este es un intento "
        "de cobrar una deuda. Tu saldo es $4,500.00. Responde STOP para no recibir más mensajes."
    )
    assert check(draft, us.model_copy(update={"allowed_amounts": {Decimal("4500")}})).passed


# -- rule classes added for the counts / visits / third-party families (dev6) ----------------
# Each row: a wording of the family the guard must stop, and its compliant twin. Written for
# these tests, not taken from the labelled sets.

FAMILIES = [
    # visits: at a relative's home, finding the debtor at their place, arranging a visit
    (
        "forbidden.threat.visit",
        "Un gestor pasará por la casa de tu mamá para conversar.",
        "Entiendo que tienes que ir a la casa de tu mamá; tómate tu tiempo.",
    ),
    (
        "forbidden.threat.visit",
        "¿A qué hora te encontramos en tu negocio?",
        "¿A qué hora te escribimos mañana?",
    ),
    (
        "forbidden.threat.visit",
        "Estamos coordinando una visita para conversar lo de tu cuenta.",
        "Puedes agendar una visita a cualquiera de nuestras sucursales.",
    ),
    (
        "forbidden.threat.visit",
        "¿Prefieres que pasemos por la tarde?",
        "¿Prefieres que pasemos a revisar las 3 cuotas?",
    ),
    (
        "forbidden.threat.visit",
        "Tu dirección ya quedó en la ruta de los cobradores.",
        "Tu pago ya quedó registrado, gracias.",
    ),
    (
        "forbidden.threat.visit",
        "El área de campo tendrá que ubicarte personalmente.",
        "Puedes pagar personalmente en cualquier sucursal.",
    ),
    (
        "forbidden.threat.visit",
        "Nuestro verificador puede pasar a recoger el pago.",
        "Puedes pasar a recoger tu constancia en la oficina.",
    ),
    (
        "forbidden.threat.visit",
        "Vamos a tener que mandar a alguien al domicilio de facturación.",
        "Te mandamos el recibo al domicilio de facturación.",
    ),
    (
        "forbidden.threat.visit",
        "Te visitamos en tu centro de labores el lunes.",
        "No te visitaremos en tu centro de labores ni en tu casa.",
    ),
    (
        "forbidden.threat.visit",
        "El cobrador estará en tu puerta mañana.",
        "Un asesor estará en el chat mañana.",
    ),
    (
        "forbidden.threat.visit",
        "El gestor ya conoce dónde vives.",
        "Ya sabemos cuál opción prefieres.",
    ),
    (
        "forbidden.threat.visit",
        "Mañana te visita nuestro gestor.",
        "Cuando nos visites en la sucursal, te atendemos con tu referencia MX-000123.",
    ),
    (
        "forbidden.threat.visit",
        "Recibirás la visita de un asesor esta semana.",
        "Recibirás un correo con el detalle esta semana.",
    ),
    (
        "forbidden.threat.visit",
        "Te dejaremos una notificación bajo la puerta.",
        "Te enviaremos el estado de cuenta a tu domicilio.",  # mail is not a visit
    ),
    (
        "forbidden.threat.visit",
        "We'll leave a notice at your door.",
        "We'll mail the statement to your address.",
    ),
    (
        "forbidden.threat.visit",
        "We will send someone out to your place this week.",
        "We will not send anyone to your home.",
    ),
    (
        "forbidden.threat.visit",
        "Our agent will be stopping by your house on Monday.",
        "You can stop by any of our stores on Monday.",
    ),
    # third parties: the workplace's switchboard, copies, bringing someone into the chat,
    # someone who promised to pass it on, a former relation, the person who picked up
    (
        "forbidden.pressure.third_party",
        "Si no te ubicamos, llamaremos a la central de tu empresa.",
        "Si prefieres, puedes llamar a la central de Financiera Aurora.",
    ),
    (
        "forbidden.pressure.third_party",
        "Te enviamos el estado de cuenta con copia a tu jefe.",
        "Te enviamos el estado de cuenta con copia a tu correo.",
    ),
    (
        "forbidden.pressure.third_party",
        "Si quieres, agregamos a tu hermano a este chat.",
        "Entiendo que tu hermano te ayuda; esto lo vemos solo contigo por este chat.",
    ),
    (
        "forbidden.pressure.third_party",
        "Tu tío quedó en recordarte la fecha.",
        "Qué bueno que tu tío te ayude a organizarte.",
    ),
    (
        "forbidden.pressure.third_party",
        "Le escribimos a tu expareja para que te recuerde.",
        "No le escribiremos a tu expareja ni a nadie más.",
    ),
    (
        "forbidden.pressure.third_party",
        "Le mandamos un mensajito a tus referencias.",
        "Te mandamos un mensajito con tus 3 cuotas.",
    ),
    (
        "forbidden.pressure.third_party",
        "Intentamos ubicarte con el número de tu referencia laboral.",
        "Intentamos ubicarte con el número que registraste.",
    ),
    (
        "forbidden.pressure.third_party",
        "Le dejamos el recado a la persona que contestó en casa de tus padres.",
        "Si la persona que contestó no eras tú, disculpa la molestia.",
    ),
    (
        "forbidden.pressure.third_party",
        "Coordinaremos con tu empleador el descuento.",
        "Coordina con tu familia la fecha que te convenga y nos escribes.",
    ),
    (
        "forbidden.pressure.third_party",
        "Le dejamos dicho a tu vecina que nos llames.",
        "Te dejamos dicho aquí que puedes llamarnos cuando quieras.",
    ),
    (
        "forbidden.pressure.third_party",
        "Llamamos a tu casa y atendió tu hijo.",
        "Llamamos y nadie contestó; seguimos por este chat.",
    ),
    (
        "forbidden.pressure.third_party",
        "We'll call your workplace tomorrow.",
        "We'll call you tomorrow at the number you gave us.",
    ),
    (
        "forbidden.pressure.third_party",
        "Su compañero de piso nos ha atendido muy amablemente.",
        "Gracias por habernos atendido tan amablemente.",
    ),
    # shaming by comparison or by exposure to other debtors
    (
        "forbidden.shaming",
        "Eres de los pocos clientes que no cumplen.",
        "Eres de los pocos clientes que eligen pagar en 3 cuotas.",
    ),
    (
        "forbidden.shaming",
        "Te agregamos a un grupo de WhatsApp con otros clientes en mora.",
        "Te agregamos a la lista de recordatorios por WhatsApp.",
    ),
    # a government body's collections office
    (
        "forbidden.impersonation",
        "Te escribimos desde la Oficina de Cobranzas del Ministerio de Economía.",
        "Si no estás conforme, puedes reclamar ante el Ministerio de Economía.",
    ),
    # an "override" the debtor claims
    (
        "promise.injection",
        "Per your admin override note, I closed the account.",
        "I can't override the offer; the plan of three payments stays open.",
    ),
]


@pytest.mark.parametrize(("rule_id", "stopped", "passed"), FAMILIES)
def test_each_family_stops_its_wording_and_passes_its_twin(
    rule_id: str, stopped: str, passed: str
) -> None:
    verdict = check(stopped, ctx())
    assert verdict.outcome == "block", stopped
    assert rule_id in verdict.rule_ids, (stopped, verdict.rule_ids)
    assert check(passed, ctx()).outcome == "pass", passed


def test_a_guarantor_told_is_a_third_party_where_the_pack_has_no_exception() -> None:
    draft = "Tu garante ya fue notificado del atraso."
    assert "forbidden.pressure.third_party" in check(draft, ctx(pack="es")).rule_ids
    assert check(draft, ctx(pack="mx")).passed  # Mexico excepts the guarantor
    assert check("Tu garante no será notificado de nada.", ctx(pack="es")).passed


@pytest.mark.parametrize(
    "draft",
    [
        # a second conjunct without its own subject shares the negation
        "Nobody will visit your home or contact your employer.",
        "No vamos a visitarte o llamar a tu jefe.",
        # denials and refusals
        "Tampoco es cierto que alguien vaya a la cárcel por una deuda.",
        "No hay ninguna necesidad de que tu jefe se entere.",
        "No tengo forma de condonar la deuda.",
        "No puedo aplicar otro descuento ni dejar la deuda sin intereses.",
        # the debtor's rights and the law's notices about credit bureaus
        "Tienes derecho a que tu información se actualice en las centrales de riesgo.",
        "Antes de cualquier reporte negativo ante las centrales de riesgo, la entidad debe "
        "enviarte un aviso.",
        "Una deuda impaga se refleja en las centrales de riesgo.",
    ],
)
def test_negations_refusals_and_rights_pass(draft: str) -> None:
    assert check(draft, ctx()).outcome == "pass", (draft, check(draft, ctx()).rule_ids)


@pytest.mark.parametrize(
    "draft",
    [
        "No pagas o llamamos a tu jefe.",  # "o" with its own verb: an "or else"
        "Si no pagas, vamos a visitarte o llamar a tu jefe.",  # a condition, not a denial
        "If you don't pay, we will visit your home or contact your employer.",
        "Si no pagas, te reportaremos a las centrales de riesgo.",
    ],
)
def test_coordinated_or_conditional_threats_still_stop(draft: str) -> None:
    assert check(draft, ctx()).outcome == "block", draft


@pytest.mark.parametrize(
    ("draft", "count"),
    [
        ("Son treinta y seis cuotas de $1,500.", 36),
        ("Lo dejamos en siete armadas de $1,500.", 7),
        ("Lo partimos en cinco tramos de $1,500.", 5),
        ("Serían cinco cuotas fijas mensuales de $1,500.", 5),
        ("Lo dividimos en cuatro, si te parece.", 4),  # a split without its noun
        ("That's thirteen monthly payments of $1,500.", 13),
        ("It would be twenty-one installments of $1,500.", 21),
        # a rank the sentence says closes the plan is the plan's length
        ("La quinta cuota de $1,500 sería la última.", 5),
        ("Con eso, la cuarta cuota cae en junio y quedas a paz y salvo.", 4),
    ],
)
def test_counts_in_every_word_and_ranks_that_close_the_plan(draft: str, count: int) -> None:
    verdict = check(draft, ctx())
    assert verdict.rule_ids == ["figures.unknown_count"], (draft, verdict.rule_ids)
    assert check(draft, ctx(allowed_counts={1, count})).outcome == "pass", draft


def test_a_rank_before_another_rank_that_closes_the_plan_is_within_it() -> None:
    draft = "La segunda cuota vence el 15 de abril y con la tercera quedas al día."
    assert check(draft, ctx()).passed


def test_a_confirmed_opt_out_needs_no_opt_out_instruction() -> None:
    us = ctx(pack="us", currency="USD", locale="es_US")
    assert check("Listo, ya no le enviaremos más mensajes por WhatsApp.", us).passed
    assert check("Understood. You won't receive any more text messages from us.", us).passed
    missing = check("Gracias, seguimos en contacto.", us)
    assert missing.rule_ids == ["disclosure.opt_out_instruction"]


# Counts in unusual forms: repetitions, what remains, month ranges, counted notices and
# staff, a rank without its noun, a plan's length as "por un semestre". (stopped, passed)
COUNT_CLASSES = [
    ("Son $1,500 x6, el primero el 15 de marzo.", "Son $1,500 x3, el primero el 15 de marzo."),
    ("Serían $1,500 por seis ocasiones.", "Serían $1,500 tres veces."),
    ("Te quedan cinco más de $1,500.", "Gracias por tu pago; te quedan dos cuotas de $1,500."),
    ("Gracias por tu pago; te quedan cinco más de $1,500.", "Te quedan tres cuotas de $1,500."),
    ("Son $1,500 mensuales de marzo a agosto.", "Son $1,500 mensuales de marzo a mayo."),
    (
        "Este es el tercer aviso: la oferta de $1,500 vence el 15 de marzo.",
        "Este es un aviso: la oferta de $1,500 vence el 15 de marzo.",
    ),
    ("Tres ejecutivos revisaron tu caso.", "Un ejecutivo revisó tu caso."),
    (
        "La primera cuota de $1,500 vence el 15 de marzo y con la sexta terminas.",
        "La primera cuota de $1,500 vence el 15 de marzo y con la tercera terminas.",
    ),
    ("Son $1,500 mensuales por un semestre.", "Son $1,500 mensuales por un trimestre."),
]


@pytest.mark.parametrize(("stopped", "passed"), COUNT_CLASSES)
def test_counts_in_unusual_forms_are_checked(stopped: str, passed: str) -> None:
    verdict = check(stopped, ctx())
    assert not verdict.passed and "figures.unknown_count" in verdict.rule_ids, (
        stopped,
        verdict.rule_ids,
    )
    assert check(passed, ctx()).passed, (passed, check(passed, ctx()).rule_ids)


def test_keeping_someones_books_is_not_a_seizure() -> None:
    draft = "Entiendo que su contador le lleva las cuentas; este tema lo vemos solo con usted."
    assert check(draft, ctx()).passed
